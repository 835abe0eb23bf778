import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:net';
import { AgentSecretsError } from '@agentsecrets/errors';
import { SecretValue } from '@agentsecrets/keychain';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AllowlistEntry, type Binding, parseAllowlistEntry, parseBinding } from '../policy/index.js';
import { Redactor } from '../redact/index.js';
import { parsePlacement } from '../spec/placement.js';
import { parseInjectionObject } from '../spec/spec.js';
import { type CallOutcome, type CallResponse, InjectionEngine } from './engine.js';

const CANARY = 'sk_live_CANARY_9f8e7d6c5b4a3210';
const OTHER = 'other-project-secret-ZZ42ZZ42';
const BASIC = `alice:${CANARY}`;
const VALUES: Record<string, string> = { API_KEY: CANARY, OTHER_KEY: OTHER, BASIC_KEY: BASIC };

let upstream: Upstream;
let allowlist: AllowlistEntry[] = [];
// The owner of API_KEY allowed every place these tests inject it into, on the loopback upstream (any port).
const OPEN: Record<string, Binding[]> = {
  API_KEY: [
    parseBinding(
      '127.0.0.1',
      [],
      ['bearer', 'header:X-Api-Key', 'query:api_key', 'query:api_Key', 'body:auth.token', 'form:token'].map(
        parsePlacement,
      ),
    ),
  ],
};
let bindings: Record<string, Binding[]> = OPEN;
let reads: string[] = [];
let engine: InjectionEngine;

const fakeDns = new Map<string, string>();

function lookup(
  hostname: string,
  options: { all?: boolean | undefined } | number | undefined,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  const address = fakeDns.get(hostname);
  if (address === undefined) {
    const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    callback(err, '', 4);
    return;
  }
  if (typeof options === 'object' && options?.all) callback(null, [{ address, family: 4 }]);
  else callback(null, address, 4);
}

function secret(name: string): SecretValue {
  return new SecretValue(name, Buffer.from(VALUES[name]!, 'utf8'));
}

async function readAll(response: CallResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function call(
  url: string,
  injections: Record<string, string>,
  extra: { method?: string; body?: string } = {},
) {
  const outcomes: CallOutcome[] = [];
  const response = await engine.call({
    url,
    injections: parseInjectionObject(injections),
    ...extra,
    onOutcome: (o) => outcomes.push(o),
  });
  const body = await readAll(response);
  await new Promise((r) => setImmediate(r));
  return { response, body, outcomes };
}

async function refusal(url: string, injections: Record<string, string>, method = 'GET') {
  const outcomes: CallOutcome[] = [];
  try {
    const response = await engine.call({
      url,
      method,
      injections: parseInjectionObject(injections),
      onOutcome: (o) => outcomes.push(o),
    });
    await readAll(response);
  } catch (e) {
    expect(e).toBeInstanceOf(AgentSecretsError);
    const err = e as AgentSecretsError;
    expect(findLeaks(`${err.message} ${err.hint} ${JSON.stringify(err)}`, CANARY)).toEqual([]);
    await new Promise((r) => setImmediate(r));
    return { error: err, outcomes };
  }
  throw new Error(`expected ${url} to be refused`);
}

beforeAll(async () => {
  upstream = await startUpstream();
  allowlist = [parseAllowlistEntry(`http://127.0.0.1:${upstream.port}`)];
  engine = new InjectionEngine({
    policy: { allowlist: () => allowlist, bindings: (name) => bindings[name] ?? [] },
    secrets: {
      resolve: async (names) => {
        reads.push(...names);
        const out = new Map<string, SecretValue>();
        for (const n of names) {
          if (VALUES[n] === undefined)
            throw new AgentSecretsError('SECRET_NOT_FOUND', `no secret named ${n}`);
          out.set(n, secret(n));
        }
        return out;
      },
      stored: async (names) => names.filter((n) => VALUES[n] !== undefined),
      redactor: () => new Redactor(Object.keys(VALUES).map(secret)),
    },
    timeouts: { connectMs: 2000, headersMs: 400, idleMs: 400 },
    lookup,
  });
});

afterAll(async () => {
  await engine.close();
  await upstream.close();
});

const STYLES: Record<string, Record<string, string>> = {
  bearer: { bearer: 'API_KEY' },
  basic: { basic: 'BASIC_KEY' },
  header: { 'header:X-Api-Key': 'API_KEY' },
  query: { 'query:api_key': 'API_KEY' },
  body: { 'body:auth.token': 'API_KEY' },
  form: { 'form:token': 'API_KEY' },
};
const ECHOES = [
  '/echo',
  '/echo-json',
  '/echo-headers',
  '/gzip',
  '/gzip-gzip',
  '/gzip-chunked',
  '/echo-header-name',
  '/deflate',
  '/br',
  '/drip',
  '/sse',
  '/redirect',
];

describe('the engine against a hostile upstream', () => {
  for (const [style, injections] of Object.entries(STYLES)) {
    it(`never hands back a ${style} credential, whatever the upstream echoes`, async () => {
      for (const path of ECHOES) {
        const method = style === 'body' || style === 'form' ? 'POST' : 'GET';
        const body = style === 'body' ? '{"n":12345678901234567890}' : style === 'form' ? 'a=1' : undefined;
        const {
          response,
          body: text,
          outcomes,
        } = await call(`${upstream.origin}${path}`, injections, {
          method,
          ...(body === undefined ? {} : { body }),
        });
        const seen = `${text}\n${JSON.stringify(response.headers)}`;
        expect(findLeaks(seen, CANARY), `${style} ${path}`).toEqual([]);
        expect(findLeaks(seen, OTHER), `${style} ${path}`).toEqual([]);
        expect(response.redactions(), `${style} ${path}`).toBeGreaterThan(0);
        expect(outcomes).toHaveLength(1);
        expect(outcomes[0]).toMatchObject({
          status: 'OK',
          redacted: true,
          secretKeys: [Object.values(injections)[0]],
        });
        expect(JSON.stringify(outcomes[0])).not.toContain(CANARY);
      }
    }, 30_000); // a dozen echoes, one of them a byte at a time, each searched every way it could be decoded
  }

  it('injects each style where it belongs, leaving the rest of the request as sent', async () => {
    upstream.requests.length = 0;
    await call(`${upstream.origin}/echo?keep=a%20b&api_Key=placeholder`, { 'query:api_Key': 'API_KEY' });
    expect(upstream.requests[0]!.url).toBe(`/echo?keep=a%20b&api_Key=${CANARY}`);
    await call(
      `${upstream.origin}/echo`,
      { 'body:auth.token': 'API_KEY' },
      { method: 'POST', body: '{"n":12345678901234567890,"auth":{}}' },
    );
    expect(upstream.requests[1]!.body.toString()).toBe(
      `{"n":12345678901234567890,"auth":{"token":"${CANARY}"}}`,
    );
    expect(upstream.requests[1]!.headers['content-type']).toBe('application/json');
    await call(`${upstream.origin}/echo`, { basic: 'BASIC_KEY' });
    expect(upstream.requests[2]!.headers.authorization).toBe(
      `Basic ${Buffer.from(BASIC).toString('base64')}`,
    );
    await call(`${upstream.origin}/echo`, { 'header:X-Api-Key': 'API_KEY' });
    expect(upstream.requests[3]!.rawHeaders).toContain('X-Api-Key');
    expect(upstream.requests[3]!.headers['accept-encoding']).toBe('gzip, deflate, br');
  });

  it('does not follow redirects and redacts Location', async () => {
    upstream.requests.length = 0;
    const { response } = await call(`${upstream.origin}/redirect`, { bearer: 'API_KEY' });
    expect(response.status).toBe(302);
    const location = response.headers.find(([n]) => n === 'location')?.[1] ?? '';
    expect(location).toContain('REDACTED_BY_AGENTSECRETS');
    expect(findLeaks(location, CANARY)).toEqual([]);
    expect(upstream.requests).toHaveLength(1);
  });

  it('streams: an SSE event arrives before the upstream has finished', async () => {
    const response = await engine.call({
      url: `${upstream.origin}/sse`,
      injections: parseInjectionObject({ bearer: 'API_KEY' }),
    });
    const iterator = response.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(String(first.value)).toContain('data: hello\n\n');
    let rest = '';
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest += String(r.value);
    expect(rest).toContain('[REDACTED_BY_AGENTSECRETS]');
    expect(findLeaks(rest, CANARY)).toEqual([]);
  });

  it('maps every failure to a typed error that holds no value', async () => {
    const reset = await engine.call({
      url: `${upstream.origin}/reset`,
      injections: parseInjectionObject({ bearer: 'API_KEY' }),
    });
    const failure = await readAll(reset).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(AgentSecretsError);
    expect((failure as AgentSecretsError).code).toBe('UPSTREAM_RESET');
    expect(findLeaks(String((failure as Error).message), CANARY)).toEqual([]);

    expect((await refusal(`${upstream.origin}/hang`, { bearer: 'API_KEY' })).error.code).toBe(
      'UPSTREAM_TIMEOUT',
    );
    expect((await refusal(`${upstream.origin}/hang-body`, { bearer: 'API_KEY' })).error.code).toBe(
      'UPSTREAM_TIMEOUT',
    );
    expect((await refusal(`${upstream.origin}/reset-before-headers`, { bearer: 'API_KEY' })).error.code).toBe(
      'UPSTREAM_RESET',
    );
    expect((await refusal(`${upstream.origin}/unknown-encoding`, { bearer: 'API_KEY' })).error.code).toBe(
      'UPSTREAM_ENCODING_UNSUPPORTED',
    );

    // A closed port, with the credential also typed into the URL's query by a careless caller.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    allowlist = [...allowlist, parseAllowlistEntry(`http://127.0.0.1:${port}`)];
    const refused = await refusal(`http://127.0.0.1:${port}/x?api_key=${CANARY}`, { bearer: 'API_KEY' });
    expect(refused.error.code).toBe('UPSTREAM_UNREACHABLE');
    expect(refused.outcomes[0]).toMatchObject({
      status: 'ERROR',
      reason: 'UPSTREAM_UNREACHABLE',
      target: `http://127.0.0.1:${port}/x`,
    });
  });

  it('refuses bypass attempts before reading any secret', async () => {
    bindings = {};
    const port = upstream.port;
    fakeDns.set('rebind.example.test', '127.0.0.1');
    allowlist = [
      parseAllowlistEntry(`http://127.0.0.1:${port}`),
      parseAllowlistEntry(`http://*.example.test:${port}`),
    ];
    const attempts: [string, string][] = [
      [`http://127.0.0.1:${port}@evil.example/echo`, 'USERINFO_REFUSED'],
      [`http://user@127.0.0.1:${port}/echo`, 'USERINFO_REFUSED'],
      [`http://127.0.0.1:${port + 1}/echo`, 'DOMAIN_NOT_ALLOWED'],
      [`https://127.0.0.1:${port}/echo`, 'DOMAIN_NOT_ALLOWED'],
      [`http://2130706433:${port}/echo`, 'OK'],
      [`http://localhost:${port}/echo`, 'DOMAIN_NOT_ALLOWED'],
      [`http://rebind.example.test:${port}/echo`, 'SSRF_BLOCKED'],
      [`http://evil.example/echo`, 'DOMAIN_NOT_ALLOWED'],
    ];
    for (const [url, expected] of attempts) {
      reads = [];
      if (expected === 'OK') {
        // Decimal IPv4 is the same address as the IP entry: allowed, and nothing else about it changes.
        await call(url, { bearer: 'API_KEY' });
        continue;
      }
      const { error, outcomes } = await refusal(url, { bearer: 'API_KEY' });
      expect(error.code, url).toBe(expected);
      expect(reads, url).toEqual([]);
      expect(outcomes[0]?.status, url).toBe(
        expected === 'SSRF_BLOCKED' || expected.endsWith('ALLOWED') || expected === 'USERINFO_REFUSED'
          ? 'BLOCKED'
          : 'ERROR',
      );
    }
    allowlist = [parseAllowlistEntry(`http://127.0.0.1:${port}`)];
    bindings = OPEN;
  });

  it('enforces per-secret bindings on host, path prefix and method', async () => {
    bindings = { API_KEY: [parseBinding(`127.0.0.1:${upstream.port}/echo`, ['GET'])] };
    await call(`${upstream.origin}/echo`, { bearer: 'API_KEY' });
    expect((await refusal(`${upstream.origin}/echo`, { bearer: 'API_KEY' }, 'POST')).error.code).toBe(
      'BINDING_VIOLATION',
    );
    expect((await refusal(`${upstream.origin}/sse`, { bearer: 'API_KEY' })).error.code).toBe(
      'BINDING_VIOLATION',
    );
    expect((await refusal(`${upstream.origin}/echo-json`, { bearer: 'API_KEY' })).error.code).toBe(
      'BINDING_VIOLATION',
    );
    bindings = OPEN;
  });

  it('injects into query, body or form only where the owner named the field, refusing before any read', async () => {
    const url = `${upstream.origin}/echo`;
    const post = { method: 'POST' };
    // Default: a secret without bindings goes only into headers.
    bindings = {};
    for (const [injections, method] of [
      [{ 'query:api_key': 'API_KEY' }, 'GET'],
      [{ 'body:auth.token': 'API_KEY' }, 'POST'],
      [{ 'form:token': 'API_KEY' }, 'POST'],
    ] as const) {
      reads = [];
      upstream.requests.length = 0;
      const { error, outcomes } = await refusal(url, injections, method);
      expect(error.code).toBe('INJECTION_NOT_ALLOWED');
      expect(error.hint).toContain('agentsecrets secrets bind API_KEY 127.0.0.1:');
      expect(reads).toEqual([]);
      expect(upstream.requests).toEqual([]);
      expect(outcomes[0]).toMatchObject({ status: 'BLOCKED', reason: 'INJECTION_NOT_ALLOWED' });
    }
    await call(url, { bearer: 'API_KEY' });
    await call(url, { 'header:X-Anything': 'API_KEY' });
    await call(url, { basic: 'BASIC_KEY' });

    // A binding that names the field allows exactly that field there, and nothing else: not another parameter, not a
    // header style (it names places), not the same field on another path.
    bindings = {
      API_KEY: [
        parseBinding(
          `127.0.0.1:${upstream.port}/echo`,
          [],
          ['query:api_key', 'body:auth["token"]'].map(parsePlacement),
        ),
      ],
    };
    await call(url, { 'query:api_key': 'API_KEY' });
    await call(url, { 'body:auth.token': 'API_KEY' }, { ...post, body: '{}' });
    for (const [target, injections] of [
      [url, { 'query:API_KEY': 'API_KEY' }],
      [url, { 'query:other': 'API_KEY' }],
      [url, { 'form:api_key': 'API_KEY' }],
      [url, { 'body:auth': 'API_KEY' }],
      [url, { bearer: 'API_KEY' }],
    ] as const) {
      reads = [];
      const { error } = await refusal(target, injections, 'POST');
      expect(error.code, JSON.stringify(injections)).toBe('INJECTION_NOT_ALLOWED');
      expect(error.message).toContain('only as query:api_key, body:auth["token"]');
      expect(reads).toEqual([]);
    }
    reads = [];
    expect((await refusal(`${upstream.origin}/sse`, { 'query:api_key': 'API_KEY' })).error.code).toBe(
      'BINDING_VIOLATION',
    );
    expect(reads).toEqual([]);
    bindings = OPEN;
  });

  it('records the target without its query and names only', async () => {
    const { outcomes } = await call(`${upstream.origin}/echo?x=${CANARY}#frag`, {
      'query:api_key': 'API_KEY',
    });
    expect(outcomes[0]!.target).toBe(`${upstream.origin}/echo`);
    expect(outcomes[0]!.styles).toEqual(['query']);
    expect(findLeaks(JSON.stringify(outcomes), CANARY)).toEqual([]);
  });

  it('refuses a request body over the limit and unknown secrets', async () => {
    const small = new InjectionEngine({
      policy: { allowlist: () => allowlist, bindings: () => [] },
      secrets: { resolve: async () => new Map(), stored: async () => [], redactor: () => new Redactor([]) },
      maxRequestBodyBytes: 10,
    });
    await expect(
      small.call({ url: `${upstream.origin}/echo`, method: 'POST', body: 'x'.repeat(11), injections: [] }),
    ).rejects.toMatchObject({ code: 'REQUEST_TOO_LARGE' });
    await small.close();
    const missing = await refusal(`${upstream.origin}/echo`, { bearer: 'MISSING_KEY' });
    expect(missing.error.code).toBe('SECRET_NOT_FOUND');
  });
});
