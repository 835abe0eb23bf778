// The real proxy (the built CLI's `proxy start`) under inputs that used to end or starve it: a request line `new URL`
// cannot parse, HEAD through /proxy, upstreams answering 204/304, bodies over the limit, and a flood of idle
// connections under a low file-descriptor limit.
import { rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  healthy,
  type ProxyProcess,
  preparedMachine,
  type RawUpstream,
  rawExchange,
  startProxyProcess,
  startRawUpstream,
} from './proxy-process.js';

let upstream: RawUpstream;
let machine: Awaited<ReturnType<typeof preparedMachine>>;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await startRawUpstream();
  machine = await preparedMachine([upstream.origin]);
  proxy = await startProxyProcess(machine);
});

afterEach(() => {
  upstream.respond = (_head, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
});

afterAll(async () => {
  await proxy?.stop();
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

function through(method: string, path: string, extra: Record<string, string> = {}) {
  return request(`http://127.0.0.1:${proxy.port}/proxy`, {
    method: method as 'GET',
    headers: {
      'x-as-session-token': proxy.token,
      'x-as-target-url': `${upstream.origin}${path}`,
      'x-as-inject-bearer': 'API_KEY',
      ...extra,
    },
  });
}

describe('inputs that used to end the proxy process', () => {
  it('a request line new URL cannot parse gets a 400, without a token', async () => {
    const answer = await rawExchange(
      proxy.port,
      `GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
    expect(proxy.alive()).toBe(true);
    expect(await healthy(proxy.port)).toBe(true);
  });

  it('HEAD through /proxy answers with the upstream status and no body', async () => {
    upstream.respond = (_head, socket) =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n');
    const res = await through('HEAD', '/head');
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('');
    expect(upstream.seen.at(-1)?.head).toMatch(/^HEAD \/head HTTP\/1\.1/);
    expect(proxy.alive()).toBe(true);
    expect(await healthy(proxy.port)).toBe(true);
  });

  it.each([204, 304])('an upstream answering %i is passed on and the proxy keeps answering', async (code) => {
    upstream.respond = (_head, socket) => socket.end(`HTTP/1.1 ${code} X\r\netag: "1"\r\n\r\n`);
    const res = await through('GET', `/status-${code}`);
    expect(res.statusCode).toBe(code);
    expect(await res.body.text()).toBe('');
    expect(proxy.alive()).toBe(true);
    expect(await healthy(proxy.port)).toBe(true);
  });

  it('an HTTP/1.0 client (no chunked encoding, so no trailer) gets its answer', async () => {
    const answer = await rawExchange(
      proxy.port,
      `GET /proxy HTTP/1.0\r\nHost: 127.0.0.1:${proxy.port}\r\nX-AS-Session-Token: ${proxy.token}\r\n` +
        `X-AS-Target-URL: ${upstream.origin}/ten\r\n\r\n`,
    );
    expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\n\r\nok$/);
    expect(proxy.alive()).toBe(true);
  });
});

describe('request bodies over the limit', () => {
  it('a declared Content-Length over the limit answers 413 and sends nothing upstream', async () => {
    const before = upstream.seen.length;
    const answer = await rawExchange(
      proxy.port,
      `POST /proxy HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nX-AS-Session-Token: ${proxy.token}\r\n` +
        `X-AS-Target-URL: ${upstream.origin}/upload\r\nContent-Length: ${11 * 1024 * 1024}\r\n\r\npartial`,
    );
    const text = answer.toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toContain('REQUEST_TOO_LARGE');
    expect(upstream.seen.length).toBe(before);
    expect(proxy.alive()).toBe(true);
  });

  it('a chunked body that streams past the limit answers 413 and never reaches the upstream complete', async () => {
    const before = upstream.seen.length;
    const socket: Socket = connect(proxy.port, '127.0.0.1');
    const out: Buffer[] = [];
    socket.on('data', (c: Buffer) => out.push(c));
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      `POST /proxy HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nX-AS-Session-Token: ${proxy.token}\r\n` +
        `X-AS-Target-URL: ${upstream.origin}/upload\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < 12 && !socket.destroyed; i += 1) {
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      socket.write('\r\n');
      await sleep(20);
    }
    socket.write('0\r\n\r\n');
    for (let i = 0; i < 100 && !Buffer.concat(out).includes('\r\n\r\n'); i += 1) await sleep(50);
    socket.destroy();
    expect(Buffer.concat(out).toString('latin1')).toMatch(/^HTTP\/1\.1 413 /);
    for (const seen of upstream.seen.slice(before)) expect(seen.complete).toBe(false);
    expect(proxy.alive()).toBe(true);
    expect(await healthy(proxy.port)).toBe(true);
  });
});

describe('connection floods under a low descriptor limit', () => {
  let limited: ProxyProcess;
  let limitedMachine: Awaited<ReturnType<typeof preparedMachine>>;
  const sockets: Socket[] = [];

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await limited?.stop();
    if (limitedMachine !== undefined) await rm(limitedMachine.root, { recursive: true, force: true });
  });

  it('1,100 idle connections with 1,024 descriptors: health and authenticated calls still answer', async () => {
    limitedMachine = await preparedMachine([upstream.origin]);
    limited = await startProxyProcess(limitedMachine, { wrap: ['prlimit', '--nofile=1024:1024', '--'] });
    // Idle connections: some that never send a byte, some half a request head (slowloris).
    for (let i = 0; i < 1100; i += 1) {
      const s = connect(limited.port, '127.0.0.1');
      s.on('error', () => undefined);
      if (i % 2 === 1)
        s.on('connect', () => s.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${limited.port}\r\n`));
      sockets.push(s);
      if (i % 100 === 99) await sleep(20);
    }
    await sleep(500);
    const started = Date.now();
    expect(await healthy(limited.port, 5_000)).toBe(true);
    const res = await request(`http://127.0.0.1:${limited.port}/proxy`, {
      headers: {
        'x-as-session-token': limited.token,
        'x-as-target-url': `${upstream.origin}/flood`,
        'x-as-inject-bearer': 'API_KEY',
      },
      headersTimeout: 5_000,
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('ok');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(limited.alive()).toBe(true);
  });
});
