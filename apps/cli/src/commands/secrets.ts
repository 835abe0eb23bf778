import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { InjectionStyle } from '@agentsecrets/core';
import { AgentSecretsError } from '@agentsecrets/errors';
import { Command, Option } from 'commander';
import type { Context } from '../context.js';
import {
  accountPassword,
  colours,
  confirmYes,
  json,
  line,
  promptHidden,
  readStdin,
  table,
  usage,
} from '../io.js';
import { loadCore, loadDotenv } from '../lib.js';

async function warnShort(ctx: Context, name: string, redactable: boolean): Promise<void> {
  if (redactable) return;
  const { MIN_REDACTABLE_LENGTH } = await loadCore();
  const c = colours(ctx.io.stderr, ctx.io.env);
  line(
    ctx.io.stderr,
    c.yellow(
      `warning: ${name} is shorter than ${MIN_REDACTABLE_LENGTH} characters, so it cannot be redacted from responses without mangling other text`,
    ),
  );
}

/** `secrets set|list|delete|import|get|release|bind`, and `push|pull|diff` with the team workspace. */
export function secretsCommand(ctx: Context): Command {
  const secrets = new Command('secrets').description('store and manage secrets (values are never printed)');

  secrets
    .command('set <keys...>')
    .description('store secrets: KEY (hidden prompt), KEY with --stdin, or KEY=VALUE (visible in argv)')
    .option('--stdin', 'read the value of the one KEY from standard input')
    .option('--env', 'mark the secrets releasable to `env` and `exec` (owner passphrase)')
    .addHelpText(
      'after',
      '\nExamples:\n  agentsecrets secrets set STRIPE_KEY\n  printf %s "$TOKEN" | agentsecrets secrets set GITHUB_TOKEN --stdin\n  agentsecrets secrets set NPM_TOKEN --env',
    )
    .action(async (keys: string[], opts: { stdin?: boolean; env?: boolean }) => {
      const { io } = ctx;
      if (opts.stdin && keys.length !== 1)
        throw usage('--stdin takes exactly one KEY', 'run it once per secret');
      const core = await ctx.core();
      const stored: string[] = [];
      for (const arg of keys) {
        const eq = arg.indexOf('=');
        let name = arg;
        let value: Buffer | string;
        if (eq > 0) {
          name = arg.slice(0, eq);
          value = arg.slice(eq + 1);
          line(
            io.stderr,
            colours(io.stderr, io.env).yellow(
              `warning: the value of ${name} was given in argv, where other processes and shell history can see it`,
            ),
          );
        } else if (opts.stdin) {
          value = (await readStdin(io.stdin)).toString('utf8').replace(/\r?\n$/, '');
        } else {
          value = await promptHidden(
            io,
            `Value for ${name}: `,
            `run it in a terminal, or pipe the value: printf %s "$VALUE" | agentsecrets secrets set ${name} --stdin`,
          );
        }
        if (value.length === 0) throw usage(`the value of ${name} is empty`, 'nothing was stored');
        const { redactable } = await core.setSecret(name, value);
        await warnShort(ctx, name, redactable);
        stored.push(name);
      }
      if (opts.env) {
        const owner = await ctx.owner();
        for (const name of stored) await core.setReleasable(name, true, owner);
      }
      line(io.stdout, `stored ${stored.join(', ')}${opts.env ? ' (releasable to env/exec)' : ''}`);
    });

  secrets
    .command('list')
    .description('secret names with their bindings and release marks, never values')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const list = await (await ctx.client()).listSecrets();
      if (opts.json) return json(ctx.io.stdout, list);
      if (list.length === 0) return line(ctx.io.stdout, 'no secrets yet: agentsecrets secrets set KEY');
      line(
        ctx.io.stdout,
        table([
          ['NAME', 'RELEASABLE', 'BOUND TO'],
          ...list.map((s) => [
            s.name,
            s.releasable ? 'yes' : 'no',
            s.bindings
              .map(
                (b) =>
                  `${b.destination}${b.methods.length ? ` (${b.methods.join(',')})` : ''}${b.inject ? ` as ${b.inject.join(',')}` : ''}`,
              )
              .join('; ') || 'any allowlisted host, in headers',
          ]),
        ]),
      );
    });

  secrets
    .command('delete <key>')
    .description('delete a secret')
    .action(async (key: string) => {
      const existed = await (await ctx.core()).deleteSecret(key);
      if (!existed) {
        throw new AgentSecretsError('SECRET_NOT_FOUND', 'no secret of that name in this project', {
          hint: 'see `agentsecrets secrets list`',
        });
      }
      line(ctx.io.stdout, `deleted ${key}`);
    });

  secrets
    .command('import [file]')
    .description('load a dotenv file into the vault (default .env; - reads standard input)')
    .addHelpText(
      'after',
      '\nThe file is read as the dotenv package reads it (quotes, comments, multi-line values, export).\nExamples:\n  agentsecrets secrets import .env.local\n  op read op://vault/app/env | agentsecrets secrets import -',
    )
    .action(async (file: string | undefined) => {
      const fromStdin = file === '-';
      const path = fromStdin ? 'standard input' : resolve(ctx.io.cwd, file ?? '.env');
      let text: string;
      try {
        text = fromStdin ? (await readStdin(ctx.io.stdin)).toString('utf8') : await readFile(path, 'utf8');
      } catch {
        throw new AgentSecretsError('INVALID_ARGUMENT', `cannot read ${path}`, {
          hint: 'name an existing dotenv file, or - for standard input',
        });
      }
      const entries = (await loadDotenv()).parseDotenv(text);
      const core = await ctx.core();
      for (const [name, value] of entries) {
        const { redactable } = await core.setSecret(name, value);
        await warnShort(ctx, name, redactable);
      }
      line(ctx.io.stdout, `imported ${entries.length} secrets: ${entries.map(([n]) => n).join(', ')}`);
      if (entries.length > 0 && !fromStdin)
        line(ctx.io.stdout, `consider deleting ${path} now that the values are in the vault`);
    });

  secrets
    .command('get <key>')
    .description('owner only: print a value to this terminal (refuses pipes and agents)')
    .action(async (key: string) => {
      const { io } = ctx;
      if (!io.stdin.isTTY || !io.stdout.isTTY) {
        throw new AgentSecretsError('REQUEST_REFUSED', 'secrets get prints only to an interactive terminal', {
          hint: 'run it yourself in a terminal; agents use secrets through call, the proxy or MCP',
        });
      }
      const core = await ctx.core();
      const owner = await ctx.owner();
      if (!(await confirmYes(io, `Print the value of ${key} on this screen? Type yes: `)))
        throw usage('not confirmed', 'nothing was printed');
      const value = await core.revealSecret(key, owner);
      io.stdout.write(`${value.text()}\n`);
      value.dispose();
    });

  secrets
    .command('release <key> <state>')
    .description('owner only: allow (on) or stop (off) handing a secret to `env` and `exec`')
    .action(async (key: string, state: string) => {
      if (state !== 'on' && state !== 'off')
        throw usage('the state must be on or off', `agentsecrets secrets release ${key} on`);
      const core = await ctx.core();
      await core.setReleasable(key, state === 'on', await ctx.owner());
      line(ctx.io.stdout, `${key} is ${state === 'on' ? 'releasable to env/exec' : 'injection-only'}`);
    });

  const bind = secrets
    .command('bind <key> [destination]')
    .description(
      'owner only: limit where a secret may be sent (HOST[:PORT][/PATH-PREFIX]) and where in the request it may go',
    )
    .option('--method <method...>', 'allowed HTTP methods (default any)');
  for (const [style, flag, help] of PLACEMENT_FLAGS) {
    const option = new Option(flag, help);
    bind.addOption(style === 'bearer' || style === 'basic' ? option : option.argParser(collect));
  }
  bind
    .option('--clear', 'remove every binding of the secret')
    .option('--team', 'bind it in the team policy (admin; asks for the account password again)')
    .addHelpText(
      'after',
      `
By default a secret is injected only into headers (--bearer, --basic, --header NAME on call; the same on the proxy
and MCP). Injecting it into a query parameter, a JSON body field or a form field needs a binding that names that
field. A binding that names places allows exactly those at its destination, so list every one the destination needs;
binding the same destination again replaces its binding. A secret with bindings goes only to its bound destinations.

Examples:
  agentsecrets secrets bind STRIPE_KEY api.stripe.com/v1 --method GET POST
  agentsecrets secrets bind WEATHER_KEY api.weather.example --query api_key
  agentsecrets secrets bind API_KEY api.example.com/v1/items --body auth.token --bearer
  agentsecrets secrets bind STRIPE_KEY --clear`,
    )
    .action(async (key: string, destination: string | undefined, opts: BindOptions) => {
      const core = await ctx.core();
      const placements = placementsOf(opts);
      if (opts.team) {
        if (destination === undefined)
          throw usage('name a destination', `agentsecrets secrets bind ${key} api.example.com/v1 --team`);
        if (placements.length > 0)
          throw usage(
            'a team binding cannot name injection places yet',
            `bind it locally: agentsecrets secrets bind ${key} ${destination} ${placementFlags(placements)}`,
          );
        await core.team.bind(await accountPassword(ctx.io, false), key, destination, opts.method ?? []);
        return line(ctx.io.stdout, `${key} bound to ${destination} for the team`);
      }
      if (opts.clear) {
        if (destination !== undefined || placements.length > 0)
          throw usage('--clear takes no destination or places', `agentsecrets secrets bind ${key} --clear`);
        await core.bindings.clear(key, await ctx.owner());
        return line(ctx.io.stdout, `${key} may go to any allowlisted destination, in headers only`);
      }
      if (destination === undefined)
        throw usage(
          'name a destination or pass --clear',
          `agentsecrets secrets bind ${key} api.example.com/v1`,
        );
      const record = await core.bindings.add(
        key,
        destination,
        opts.method ?? [],
        await ctx.owner(),
        placements,
      );
      line(
        ctx.io.stdout,
        `${key} bound to ${record.destination}${record.methods.length ? ` (${record.methods.join(', ')})` : ''}, injected ${describePlacements(record.inject)}`,
      );
    });
  secrets
    .command('push')
    .description(
      'encrypt and push new or changed secrets of this project to the team workspace (all or nothing)',
    )
    .action(async () => {
      const { pushed, conflicts } = await (await ctx.core()).team.push();
      line(ctx.io.stdout, pushed.length ? `pushed ${pushed.join(', ')}` : 'nothing to push');
      if (conflicts.length > 0) {
        line(
          ctx.io.stderr,
          `conflict: ${conflicts.join(', ')} changed on the server since your last pull; nothing was pushed — run \`agentsecrets secrets diff\`, then pull`,
        );
        ctx.exitCode = 1;
      }
    });
  secrets
    .command('pull')
    .description('pull and decrypt the team workspace secrets of this project into the local vault')
    .action(async () => {
      const { pulled } = await (await ctx.core()).team.pull();
      line(ctx.io.stdout, pulled.length ? `pulled ${pulled.join(', ')}` : 'already up to date');
    });
  secrets
    .command('diff')
    .description('local-only, remote-only and changed secrets, by name')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      // Through the running proxy when there is one: it holds the vault, as for `secrets list`.
      const proxy = await ctx.runningProxy();
      const d = proxy === undefined ? await (await ctx.core()).team.diff() : await proxy.secretsDiff();
      if (opts.json) return json(ctx.io.stdout, d);
      for (const [label, names] of [
        ['local only', d.localOnly],
        ['remote only', d.remoteOnly],
        ['changed', d.changed],
      ] as const) {
        if (names.length) line(ctx.io.stdout, `${label}: ${names.join(', ')}`);
      }
      if (!d.localOnly.length && !d.remoteOnly.length && !d.changed.length) line(ctx.io.stdout, 'in sync');
    });
  return secrets;
}

interface BindOptions {
  method?: string[];
  clear?: boolean;
  team?: boolean;
  bearer?: boolean;
  basic?: boolean;
  header?: string[];
  query?: string[];
  body?: string[];
  form?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The flags of `secrets bind` that name where a secret may be injected, in the styles' order. */
const PLACEMENT_FLAGS: readonly [InjectionStyle, string, string][] = [
  ['bearer', '--bearer', 'allow Authorization: Bearer'],
  ['basic', '--basic', 'allow Authorization: Basic'],
  ['header', '--header <name>', 'allow the header NAME (repeatable)'],
  ['query', '--query <param>', 'allow the query parameter PARAM (repeatable)'],
  ['body', '--body <path>', 'allow the JSON body field a.b[0].c (repeatable)'],
  ['form', '--form <field>', 'allow the urlencoded form field FIELD (repeatable)'],
];

function placementsOf(opts: BindOptions): string[] {
  const out: string[] = [];
  if (opts.bearer) out.push('bearer');
  if (opts.basic) out.push('basic');
  for (const style of ['header', 'query', 'body', 'form'] as const) {
    for (const target of opts[style] ?? []) out.push(`${style}:${target}`);
  }
  return out;
}

function placementFlags(placements: readonly string[]): string {
  return placements
    .map((p) => {
      const colon = p.indexOf(':');
      return colon < 0 ? `--${p}` : `--${p.slice(0, colon)} ${p.slice(colon + 1)}`;
    })
    .join(' ');
}

/** How a binding's places read in a sentence and in `secrets list`. */
function describePlacements(inject: readonly string[] | undefined): string {
  return inject === undefined || inject.length === 0
    ? 'in headers (bearer, basic, header:NAME)'
    : `only as ${inject.join(', ')}`;
}
