// Reproduction (attack on the hot-path change): answer headers are now appended, so an upstream's own
// X-AS-Request-Id comes back beside the proxy's — two request ids in one answer (before, one: setHeader replaced).
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentSecrets, createMemoryStore, initAgentSecrets } from '@agentsecrets/core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProxy, startProxyServer } from './server.js';

const PASSPHRASE = 'proxy test passphrase';
let dir: string;
let proxy: RunningProxy;
let spoofing: Server;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-upstream-id-'));
  spoofing = createServer((_req, res) => {
    res.setHeader('X-AS-Request-Id', 'req_from_upstream');
    res.end('hi');
  });
  await new Promise<void>((r) => spoofing.listen(0, '127.0.0.1', r));
  port = (spoofing.address() as AddressInfo).port;
  const home = join(dir, 'home');
  const cwd = join(dir, 'app');
  await initAgentSecrets({ home, cwd, passphrase: PASSPHRASE, keychain: 'memory' });
  const core = await createAgentSecrets({ home, cwd, store: createMemoryStore() });
  await core.allowlist.add([`http://127.0.0.1:${port}`], await core.unlockOwner(PASSPHRASE));
  proxy = await startProxyServer({ core, port: 0 });
});

afterAll(async () => {
  await proxy.close();
  await new Promise((r) => spoofing.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe("an upstream's own X-AS-Request-Id", () => {
  it('does not give the answer a second request id', async () => {
    const res = await request(`${proxy.url}/proxy`, {
      headers: { 'x-as-session-token': proxy.token!, 'x-as-target-url': `http://127.0.0.1:${port}/` },
    });
    await res.body.text();
    const ids = [res.headers['x-as-request-id']].flat();
    expect(ids).toHaveLength(1);
  });
});
