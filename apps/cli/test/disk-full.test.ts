// A full disk under the AgentSecrets home (a real tmpfs, filled to ENOSPC): no call reaches the upstream while its
// audit event cannot be written, through the proxy or not; an event that fails after its call went out is owed and
// written first once space is back, and nothing goes out meanwhile; a proxy that cannot record itself exits; and
// once space is back, everything works again and the log verifies.
import { rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers.js';
import { preparedMachine, type RawUpstream, startProxyProcess, startRawUpstream } from './proxy-process.js';
import { CAN_MOUNT, mountSmallDisk, type SmallDisk } from './small-disk.js';

let disk: SmallDisk;
let upstream: RawUpstream;
let machine: Awaited<ReturnType<typeof preparedMachine>>;
const opts = () => ({ env: machine.env, cwd: machine.project });

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function auditLines(): Promise<Record<string, unknown>[]> {
  const r = await run(['proxy', 'logs', '--json', '--last', '1000'], opts());
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!CAN_MOUNT)('a full disk under the AgentSecrets home (tmpfs, needs root)', () => {
  beforeAll(async () => {
    disk = await mountSmallDisk(16);
    upstream = await startRawUpstream();
    machine = await preparedMachine([upstream.origin], { home: join(disk.path, 'home') });
  });

  afterAll(async () => {
    await run(['proxy', 'stop'], opts()).catch(() => undefined);
    await upstream?.close();
    await disk?.unmount();
    if (machine !== undefined) await rm(machine.root, { recursive: true, force: true });
  });

  it('a proxy that cannot write proxy.json exits instead of listening unrecorded', async () => {
    await disk.fill();
    try {
      const port = await freePort();
      const started = await run(['proxy', 'start', '--port', String(port)], { ...opts(), timeoutMs: 20_000 });
      expect(started.code).toBe(1);
      expect(started.stderr).toMatch(/HOME_IO: cannot record the proxy .*proxy\.json.*ENOSPC|HOME_IO/);
      expect((await run(['proxy', 'status'], opts())).stdout.trim()).toBe('not running');
      // The port is free again: nothing kept listening.
      await new Promise<void>((resolve, reject) => {
        const probe = createServer().once('error', reject);
        probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
      });
    } finally {
      await disk.free();
    }
  });

  it('no call goes out while its event cannot be written: proxy, call through it, call without it', async () => {
    const proxy = await startProxyProcess(machine);
    const before = upstream.seen.length;
    const linesBefore = (await auditLines()).length;
    await disk.fill();
    try {
      const res = await request(`http://127.0.0.1:${proxy.port}/proxy`, {
        headers: {
          'x-as-session-token': proxy.token,
          'x-as-target-url': `${upstream.origin}/through-proxy`,
          'x-as-inject-bearer': 'API_KEY',
        },
      });
      expect(res.statusCode).toBe(503);
      expect(await res.body.json()).toMatchObject({ error: { code: 'AUDIT_IO' } });

      const viaProxy = await run(
        ['call', '--url', `${upstream.origin}/cli-via-proxy`, '--bearer', 'API_KEY'],
        opts(),
      );
      expect(viaProxy.code).toBe(1);
      expect(viaProxy.stderr).toMatch(/AUDIT_IO: the disk holding the audit log .* is full/);

      await proxy.stop();
      const direct = await run(
        ['call', '--url', `${upstream.origin}/cli-direct`, '--bearer', 'API_KEY'],
        opts(),
      );
      expect(direct.code).toBe(1);
      expect(direct.stderr).toMatch(/AUDIT_IO: the disk holding the audit log .* is full/);

      expect(upstream.seen.length).toBe(before);
    } finally {
      await proxy.stop();
      await disk.free();
    }
    const after = await run(['call', '--url', `${upstream.origin}/after`, '--bearer', 'API_KEY'], opts());
    expect(after.code).toBe(0);
    expect(after.stdout).toBe('ok');
    const lines = await auditLines();
    expect(lines.length).toBe(linesBefore + 1);
    expect(lines.at(-1)).toMatchObject({ status: 'OK', target: `${upstream.origin}/after` });
    const verify = await run(['audit', 'verify'], opts());
    expect(verify.code).toBe(0);
  });

  it('a disk that fills during a call: its event is owed, nothing else goes out until it is written', async () => {
    const proxy = await startProxyProcess(machine);
    try {
      let release: (() => void) | undefined;
      upstream.respond = (_head, socket: Socket) => {
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n4\r\nslow\r\n',
        );
        release = () => socket.end('0\r\n\r\n');
      };
      const call = request(`http://127.0.0.1:${proxy.port}/proxy`, {
        headers: {
          'x-as-session-token': proxy.token,
          'x-as-target-url': `${upstream.origin}/slow`,
          'x-as-inject-bearer': 'API_KEY',
        },
      });
      const res = await call;
      expect(res.statusCode).toBe(200);
      for (let i = 0; i < 100 && release === undefined; i += 1) await sleep(20);
      await disk.fill();
      release?.();
      // The answer was on its way already; its event could not be written, which the proxy's log says.
      expect(await res.body.text()).toBe('slow');
      for (let i = 0; i < 100 && !/audit: AUDIT_IO/.test(proxy.output()); i += 1) await sleep(20);
      const seen = upstream.seen.length;
      upstream.respond = (_head, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      // The failed event is owed; until it is written the next call is refused before it is sent.
      await disk.free();
      await disk.fill();
      const refused = await request(`http://127.0.0.1:${proxy.port}/proxy`, {
        headers: {
          'x-as-session-token': proxy.token,
          'x-as-target-url': `${upstream.origin}/next`,
          'x-as-inject-bearer': 'API_KEY',
        },
      });
      expect(refused.statusCode).toBe(503);
      await refused.body.text();
      expect(upstream.seen.length).toBe(seen);
      expect(proxy.output()).toMatch(/audit: AUDIT_IO/);
      await disk.free();
      const next = await request(`http://127.0.0.1:${proxy.port}/proxy`, {
        headers: {
          'x-as-session-token': proxy.token,
          'x-as-target-url': `${upstream.origin}/next`,
          'x-as-inject-bearer': 'API_KEY',
        },
      });
      expect(next.statusCode).toBe(200);
      expect(await next.body.text()).toBe('ok');
    } finally {
      await proxy.stop();
    }
    // The event of the call cut short was written first, then the next one.
    const targets = (await auditLines()).map((e) => e.target);
    expect(targets.slice(-2)).toEqual([`${upstream.origin}/slow`, `${upstream.origin}/next`]);
    expect((await run(['audit', 'verify'], opts())).code).toBe(0);
  });
});
