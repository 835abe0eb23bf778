import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentSecrets,
  type AgentSecretsError,
  createAgentSecrets,
  createMemoryStore,
  exitCodeFor,
  initAgentSecrets,
  type SecretStore,
} from '@agentsecrets/core';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProxy, startProxyServer } from './server.js';

const CANARY = 'sk_live_PROXY_CANARY_1234abcd';
const PASSPHRASE = 'proxy test passphrase';

let dir: string;
let upstream: Upstream;
let core: AgentSecrets;
let store: SecretStore;
let proxy: RunningProxy;

async function send(
  headers: Record<string, string>,
  init: { path?: string; method?: string; body?: string } = {},
) {
  const res = await request(`${proxy.url}${init.path ?? '/proxy'}`, {
    method: (init.method ?? 'GET') as 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, trailers: res.trailers, body };
}

function auth(extra: Record<string, string> = {}): Record<string, string> {
  return { 'x-as-session-token': proxy.token!, ...extra };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-proxy-'));
  upstream = await startUpstream();
  const home = join(dir, 'home');
  const cwd = join(dir, 'app');
  await initAgentSecrets({ home, cwd, passphrase: PASSPHRASE, keychain: 'memory' });
  store = createMemoryStore();
  core = await createAgentSecrets({ home, cwd, store });
  const owner = await core.unlockOwner(PASSPHRASE);
  await core.allowlist.add([`http://127.0.0.1:${upstream.port}`], owner);
  await core.setSecret('API_KEY', CANARY);
  // A query parameter needs the owner to name it; header styles are allowed by default, here listed with it.
  await core.bindings.add('API_KEY', `127.0.0.1:${upstream.port}`, [], owner, [
    'query:api_Key',
    'header:X-Api-Token',
    'bearer',
  ]);
  proxy = await startProxyServer({ core, port: 0 });
});

afterAll(async () => {
  await proxy.close();
  await upstream.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the proxy', () => {
  it('answers health without auth and nothing else without the token', async () => {
    expect(await send({}, { path: '/health' })).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    const refused = await send({ 'x-as-target-url': `${upstream.origin}/echo` });
    expect(refused.status).toBe(401);
    expect(refused.headers['x-as-error']).toBe('UNAUTHORIZED');
    expect((await send({ 'proxy-authorization': `Bearer ${proxy.token}` }, { path: '/status' })).status).toBe(
      200,
    );
    expect((await send(auth(), { path: '/nope' })).status).toBe(404);
    expect((await send(auth())).status).toBe(400);
  });

  it('forwards the request as sent, minus its own and hop-by-hop headers, and redacts the answer', async () => {
    upstream.requests.length = 0;
    const res = await send(
      auth({
        'x-as-target-url': `${upstream.origin}/echo?keep=1`,
        'x-as-method': 'PUT',
        'x-as-inject': 'query:api_Key=API_KEY',
        'x-as-inject-header-X-Api-Token': 'API_KEY',
        'x-custom': 'kept',
        'content-type': 'text/plain',
      }),
      { method: 'POST', body: 'hello' },
    );
    expect(res.status).toBe(200);
    const seen = upstream.requests[0]!;
    expect(seen.method).toBe('PUT');
    expect(seen.url).toBe(`/echo?keep=1&api_Key=${CANARY}`);
    expect(seen.body.toString()).toBe('hello');
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.rawHeaders).toContain('X-Api-Token');
    expect(Object.keys(seen.headers).filter((h) => h.startsWith('x-as-'))).toEqual([]);
    expect(res.headers['x-as-request-id']).toMatch(/^req_/);
    expect(res.trailers['x-as-redacted']).toBe('true');
    expect(findLeaks(res.body + JSON.stringify(res.headers), CANARY)).toEqual([]);
  });

  it('streams byte by byte and large bodies', async () => {
    const drip = await send(
      auth({ 'x-as-target-url': `${upstream.origin}/drip`, 'x-as-inject-bearer': 'API_KEY' }),
    );
    expect(drip.body).toContain('[REDACTED_BY_AGENTSECRETS]');
    expect(findLeaks(drip.body, CANARY)).toEqual([]);
    const big = await request(`${proxy.url}/proxy`, {
      headers: auth({ 'x-as-target-url': `${upstream.origin}/big?mb=8` }),
    });
    let size = 0;
    for await (const chunk of big.body) size += (chunk as Buffer).length;
    expect(size).toBe(8 * 1024 * 1024);
  });

  it('refuses DNS rebinding and browsers', async () => {
    const target = { 'x-as-target-url': `${upstream.origin}/echo` };
    expect((await send(auth({ ...target, host: `evil.example:${proxy.port}` }))).status).toBe(403);
    expect((await send(auth({ ...target, host: `127.0.0.1:${proxy.port + 1}` }))).status).toBe(403);
    expect((await send(auth({ ...target, origin: 'http://localhost:3000' }))).status).toBe(403);
    expect((await send(auth({ ...target, 'sec-fetch-site': 'cross-site' }))).status).toBe(403);
    expect((await send(auth({ ...target, host: `localhost:${proxy.port}` }))).status).toBe(200);
  });

  it('maps engine errors to statuses with JSON bodies and no value', async () => {
    const blocked = await send(
      auth({ 'x-as-target-url': 'https://evil.example/', 'x-as-inject-bearer': 'API_KEY' }),
    );
    expect(blocked.status).toBe(403);
    expect(JSON.parse(blocked.body)).toMatchObject({ error: { code: 'DOMAIN_NOT_ALLOWED' } });
    const missing = await send(
      auth({ 'x-as-target-url': `${upstream.origin}/echo`, 'x-as-inject-bearer': 'NO_SUCH' }),
    );
    expect(missing.status).toBe(404);
    const reset = await send(auth({ 'x-as-target-url': `${upstream.origin}/reset-before-headers` }));
    expect(reset.status).toBe(502);
    const midBody = await request(`${proxy.url}/proxy`, {
      headers: auth({ 'x-as-target-url': `${upstream.origin}/reset`, 'x-as-inject-bearer': 'API_KEY' }),
    });
    const failure = await midBody.body.text().then(
      (text) => ({ text }),
      (e: unknown) => ({ error: e }),
    );
    expect('error' in failure || !('text' in failure && failure.text.includes(CANARY))).toBe(true);
  });

  it('takes only the session token itself: not one byte off, a prefix, a longer one or an empty one', async () => {
    const token = proxy.token!;
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const wrong of [flipped, token.slice(0, -1), `${token}A`, '', `${token} x`]) {
      expect((await send({ 'x-as-session-token': wrong }, { path: '/session' })).status).toBe(401);
    }
    expect((await send({ 'x-as-session-token': token }, { path: '/session' })).status).toBe(200);
    expect((await send({ 'x-as-session-token': ` ${token} ` }, { path: '/session' })).status).toBe(200);
  });

  it('cancels the upstream call when the caller goes away before the answer starts', async () => {
    // An upstream that takes the request and never answers: only the proxy closing its connection ends it.
    let arrived: () => void = () => undefined;
    const reached = new Promise<void>((r) => {
      arrived = r;
    });
    let ended: () => void = () => undefined;
    const closed = new Promise<void>((r) => {
      ended = r;
    });
    const silent = createServer((req) => {
      req.socket.once('close', ended);
      arrived();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    await core.allowlist.add([`http://127.0.0.1:${port}`], await core.unlockOwner(PASSPHRASE));
    try {
      const caller = new AbortController();
      const call = request(`${proxy.url}/proxy`, {
        headers: auth({ 'x-as-target-url': `http://127.0.0.1:${port}/wait` }),
        signal: caller.signal,
      }).catch(() => 'gone');
      await reached;
      caller.abort();
      expect(await call).toBe('gone');
      // Long before the 30 s headers timeout.
      await closed;
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it('lets in-flight requests finish when it stops', async () => {
    const own = await startProxyServer({
      core: await createAgentSecrets({ home: join(dir, 'home'), cwd: join(dir, 'app'), store }),
      port: 0,
      token: null,
    });
    const inflight = request(`${own.url}/proxy`, {
      headers: { 'x-as-target-url': `${upstream.origin}/drip` },
    }).then((r) => r.body.text().then((body) => ({ status: r.statusCode, body })));
    await new Promise((r) => setTimeout(r, 50));
    const closing = own.close();
    const done = await inflight;
    await closing;
    expect(done.status).toBe(200);
    expect(done.body).toContain('b64@1:');
    await expect(request(`${own.url}/health`)).rejects.toThrow();
  });

  it('names the port when it is in use, with its own code (exit 1, not a usage error)', async () => {
    const second = startProxyServer({
      core: await createAgentSecrets({ home: join(dir, 'home'), cwd: join(dir, 'app'), store }),
      port: proxy.port,
    });
    const error = await second.then(
      () => undefined,
      (e: unknown) => e as AgentSecretsError,
    );
    expect(error?.code).toBe('PORT_IN_USE');
    expect(error?.message).toContain(String(proxy.port));
    expect(error?.hint).toContain(String(proxy.port));
    expect(exitCodeFor(error!.code)).toBe(1);
  });
});
