// Reproduction (attack on the hot-path change): a caller that goes away while its call still waits for something
// before the upstream request is made (here: the store's revision) must still cancel that request. An abort emitted
// on an EventEmitter before undici listens to it is lost; an AbortSignal stays aborted.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAgentSecrets,
  createMemoryStore,
  initAgentSecrets,
  type SecretStore,
} from '@agentsecrets/core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProxy, startProxyServer } from './server.js';

const PASSPHRASE = 'proxy test passphrase';
let dir: string;
let proxy: RunningProxy;
let silent: Server;
let port: number;
let open = 0;
let arrivedCount = 0;
/** While set, the store's revision waits for it: the call is held before its upstream request. */
let gate: { readonly opened: Promise<void>; readonly open: () => void; asked: () => void } | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-cancel-early-'));
  silent = createServer((req) => {
    arrivedCount++;
    open++;
    req.socket.once('close', () => open--);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  port = (silent.address() as AddressInfo).port;
  const home = join(dir, 'home');
  const cwd = join(dir, 'app');
  await initAgentSecrets({ home, cwd, passphrase: PASSPHRASE, keychain: 'memory' });
  const inner = createMemoryStore();
  const store: SecretStore = {
    ...inner,
    revision: () => {
      const g = gate;
      if (g === undefined) return inner.revision!();
      g.asked();
      return g.opened.then(() => inner.revision!());
    },
  };
  const core = await createAgentSecrets({ home, cwd, store });
  await core.allowlist.add([`http://127.0.0.1:${port}`], await core.unlockOwner(PASSPHRASE));
  await core.setSecret('API_KEY', 'sk_live_CANCEL_EARLY_1234abcd');
  proxy = await startProxyServer({ core, port: 0 });
});

afterAll(async () => {
  silent.closeAllConnections();
  await proxy.close();
  await new Promise((r) => silent.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('a caller gone before the upstream request is made', () => {
  it('leaves no upstream request waiting for the headers timeout', async () => {
    let openGate: () => void = () => undefined;
    let asked: () => void = () => undefined;
    const wasAsked = new Promise<void>((r) => {
      asked = r;
    });
    gate = {
      opened: new Promise<void>((r) => {
        openGate = r;
      }),
      open: () => openGate(),
      asked: () => asked(),
    };
    const caller = new AbortController();
    const call = request(`${proxy.url}/proxy`, {
      headers: {
        'x-as-session-token': proxy.token!,
        'x-as-target-url': `http://127.0.0.1:${port}/wait`,
        'x-as-inject-bearer': 'API_KEY',
      },
      signal: caller.signal,
    }).catch(() => 'gone');
    await wasAsked;
    caller.abort();
    expect(await call).toBe('gone');
    await new Promise((r) => setTimeout(r, 300)); // the proxy sees the caller's socket close
    gate = undefined;
    openGate();
    // Whether or not the request reached the upstream, no connection of it may stay open (headers timeout: 30 s).
    await new Promise((r) => setTimeout(r, 1000)); // time for a request that was (wrongly) made to arrive
    const deadline = Date.now() + 5000;
    while (open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect({ arrived: arrivedCount, stillOpen: open }).toEqual({ arrived: arrivedCount, stillOpen: 0 });
  }, 15_000);
});
