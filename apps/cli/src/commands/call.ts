import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AgentSecretsError } from '@agentsecrets/errors';
import {
  type InjectionSpec,
  type InjectionStyle,
  parseCliInjection,
  validateInjections,
} from '@agentsecrets/injection/spec';
import { Command, Option } from 'commander';
import type { Context } from '../context.js';
import { json, line, readStdin, usage } from '../io.js';

const FLAGS: readonly [InjectionStyle, string, string][] = [
  ['bearer', '--bearer <key>', 'Authorization: Bearer <value of KEY>'],
  ['basic', '--basic <key>', 'Authorization: Basic, KEY holds user:password'],
  ['header', '--header <name=key>', 'header Name set to the value of KEY'],
  ['query', '--query <param=key>', 'query parameter set to the value of KEY'],
  ['body', '--body-field <path=key>', 'JSON body field a.b[0].c set to the value of KEY'],
  ['form', '--form-field <field=key>', 'urlencoded form field set to the value of KEY'],
];

const collect = (value: string, previous: string[] = []) => [...previous, value];

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0)
    throw usage('a -H header is not in the form "Name: value"', "write -H 'Accept: application/json'");
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

/** `call`: one authenticated request, curl-like. */
export function callCommand(ctx: Context): Command {
  const cmd = new Command('call')
    .description('make one authenticated HTTP call with credentials injected by name')
    .requiredOption('--url <url>', 'destination (must be on the allowlist)')
    .option('-X, --request <method>', 'HTTP method', 'GET')
    .option('-H, --add-header <header>', "extra header 'Name: value' (repeatable)", collect)
    .option('-d, --data <body>', 'request body, @file to read it from a file, or @- from standard input')
    .option('-i, --include', 'print the status line and response headers')
    .option('--json', 'print status, headers, body and redacted as JSON')
    .option('--fail', 'exit 4 on an HTTP 4xx answer and 5 on a 5xx');
  for (const [, flag, help] of FLAGS)
    cmd.addOption(new Option(flag, `${help} (repeatable)`).argParser(collect));
  cmd.addHelpText(
    'after',
    `
Examples:
  agentsecrets call --url https://api.stripe.com/v1/balance --bearer STRIPE_KEY
  agentsecrets call --url 'https://api.weather.example/v1?city=Oslo' --query api_key=WEATHER_KEY
  agentsecrets call -X POST --url https://api.example.com/v1/items -d '{"name":"x"}' --body-field auth.token=API_KEY

Headers (--bearer, --basic, --header) work for any secret; --query, --body-field and --form-field only where the
owner bound the secret with that field (agentsecrets secrets bind WEATHER_KEY api.weather.example --query api_key).
Goes through the running proxy when there is one. Exit codes: 0 ok, 2 usage, 3 blocked by policy, 4 not found,
5 upstream/network error, 6 locked vault.`,
  );
  cmd.action(async (opts: Record<string, unknown>) => {
    const specs: InjectionSpec[] = [];
    for (const [style] of FLAGS) {
      const key = style === 'body' ? 'bodyField' : style === 'form' ? 'formField' : style;
      for (const arg of (opts[key] as string[] | undefined) ?? []) specs.push(parseCliInjection(style, arg));
    }
    let body: Buffer | undefined;
    const data = opts.data as string | undefined;
    if (data !== undefined) {
      if (data === '@-') body = await readStdin(ctx.io.stdin);
      else if (data.startsWith('@')) {
        const path = resolve(ctx.io.cwd, data.slice(1));
        body = await readFile(path).catch(() => {
          throw new AgentSecretsError('INVALID_ARGUMENT', `cannot read ${path}`, {
            hint: 'check the path after @',
          });
        });
      } else body = Buffer.from(data, 'utf8');
    }
    const headers = ((opts.addHeader as string[] | undefined) ?? []).map(parseHeader);
    const client = await ctx.client();
    const res = await client.fetch({
      url: opts.url as string,
      method: opts.request as string,
      headers,
      injections: validateInjections(specs),
      transport: 'cli',
      ...(body === undefined ? {} : { body }),
    });
    const { stdout } = ctx.io;
    if (opts.json) {
      json(stdout, {
        status: res.status,
        headers: Object.fromEntries(res.headers),
        body: res.body.toString('utf8'),
        redacted: res.redacted,
      });
    } else {
      if (opts.include) {
        line(stdout, `HTTP ${res.status}`);
        for (const [n, v] of res.headers) line(stdout, `${n}: ${v}`);
        line(stdout);
      }
      stdout.write(res.body);
    }
    if (opts.fail && res.status >= 400) ctx.exitCode = res.status >= 500 ? 5 : 4;
  });
  return cmd;
}
