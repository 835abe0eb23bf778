// Found by attacking the hot-path change: with answer headers appended, an upstream's own X-AS-Request-Id came back
// beside the proxy's (two ids); before, setHeader let it replace the proxy's. An upstream's X-AS-* headers are not
// passed on at all.
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
    res.setHeader('X-AS-Error', 'UNAUTHORIZED');
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
  it('does not give the answer a second request id, nor pass on any X-AS- header of its own', async () => {
    const res = await request(`${proxy.url}/proxy`, {
      headers: { 'x-as-session-token': proxy.token!, 'x-as-target-url': `http://127.0.0.1:${port}/` },
    });
    await res.body.text();
    const ids = [res.headers['x-as-request-id']].flat();
    expect(ids).toHaveLength(1);
    // The proxy's own id, not the upstream's; and no error header the upstream made up.
    expect(ids[0]).not.toBe('req_from_upstream');
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-as-error']).toBeUndefined();
  });
});
