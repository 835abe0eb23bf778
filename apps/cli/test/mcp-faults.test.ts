// `agentsecrets mcp serve` (the built CLI) under input that used to end it or hold it: a line that is not JSON, JSON
// that is not JSON-RPC, a line over 10 MiB, and stdin closing while a call to a hanging or trickling upstream is in
// flight — directly and through the running proxy.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers.js';
import { preparedMachine, type RawUpstream, startProxyProcess, startRawUpstream } from './proxy-process.js';

let upstream: RawUpstream;
let machine: Awaited<ReturnType<typeof preparedMachine>>;
const held: Socket[] = [];

beforeAll(async () => {
  upstream = await startRawUpstream();
  machine = await preparedMachine([upstream.origin]);
  upstream.respond = (head, socket) => {
    held.push(socket);
    if (head.startsWith('GET /hang')) return; // never answers
    if (head.startsWith('GET /trickle')) {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n');
      const timer = setInterval(() => {
        if (socket.destroyed) clearInterval(timer);
        else socket.write('1\r\n.\r\n');
      }, 200);
      return;
    }
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  };
});

afterAll(async () => {
  for (const s of held) s.destroy();
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

/** A running `mcp serve` with a line reader over its stdout. */
interface Served {
  readonly child: ChildProcess;
  send(text: string | Buffer): void;
  /** The next JSON line on stdout (within `ms`). */
  next(ms?: number): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; at: number }>;
}

function serve(): Served {
  const child = spawn(process.execPath, [BIN, 'mcp', 'serve'], {
    env: machine.env,
    cwd: machine.project,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let buffer = '';
  const lines: string[] = [];
  child.stdout?.on('data', (c: Buffer) => {
    buffer += c.toString('utf8');
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      lines.push(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  });
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, at: Date.now() })),
  );
  return {
    child,
    send: (text) => child.stdin?.write(text),
    next: async (ms = 15_000) => {
      for (let waited = 0; lines.length === 0; waited += 10) {
        if (waited > ms) throw new Error('no answer from mcp serve');
        await sleep(10);
      }
      return JSON.parse(lines.shift() as string) as Record<string, unknown>;
    },
    exited,
  };
}

const initialize = (id: number) =>
  `${JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'faults', version: '1' } },
  })}\n`;

async function handshake(s: Served): Promise<void> {
  s.send(initialize(1));
  expect(await s.next()).toMatchObject({ id: 1, result: { serverInfo: { name: 'agentsecrets' } } });
  s.send(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
}

const apiCall = (id: number, path: string) =>
  `${JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name: 'api_call',
      arguments: { url: `${upstream.origin}${path}`, injections: { bearer: 'API_KEY' } },
    },
  })}\n`;

describe('mcp serve answers bad input and keeps serving', () => {
  it('a line that is not JSON gets -32700, JSON that is not JSON-RPC gets -32600, and serving goes on', async () => {
    const s = serve();
    try {
      await handshake(s);
      s.send('this is not json\n');
      expect(await s.next()).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: expect.stringMatching(/^Parse error/) },
      });
      s.send('{"jsonrpc":"2.0","id":7,"method":42}\n');
      expect(await s.next()).toMatchObject({ id: 7, error: { code: -32600 } });
      s.send(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })}\n`);
      expect(await s.next()).toMatchObject({ id: 2, result: { tools: expect.any(Array) } });
    } finally {
      s.child.stdin?.end();
      await s.exited;
    }
  });

  it('a line over 10 MiB gets an error, its bytes are dropped, and the next request is answered', async () => {
    const s = serve();
    try {
      await handshake(s);
      const big = Buffer.alloc(11 * 1024 * 1024, 0x61);
      s.send(
        Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"x":"'), big]),
      );
      s.send('"}}\n');
      expect(await s.next()).toMatchObject({ id: null, error: { code: -32600, message: /too large/ } });
      s.send(`${JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' })}\n`);
      expect(await s.next()).toMatchObject({ id: 4, result: { tools: expect.any(Array) } });
      expect(s.child.exitCode).toBeNull();
    } finally {
      s.child.stdin?.end();
      await s.exited;
    }
  });
});

describe('mcp serve exits promptly when stdin closes, cancelling calls in flight', () => {
  async function closeDuringCall(path: string): Promise<number> {
    const s = serve();
    await handshake(s);
    const before = upstream.seen.length;
    s.send(apiCall(5, path));
    for (let i = 0; i < 500 && upstream.seen.length === before; i += 1) await sleep(10);
    expect(upstream.seen.length).toBe(before + 1);
    await sleep(300);
    const closedAt = Date.now();
    s.child.stdin?.end();
    const { code, at } = await Promise.race([
      s.exited,
      sleep(20_000).then(() => ({ code: -1, at: Date.now() })),
    ]);
    if (code === -1) s.child.kill('SIGKILL');
    expect(code).toBe(0);
    return at - closedAt;
  }

  it('with a hanging upstream, without the proxy', async () => {
    expect(await closeDuringCall('/hang')).toBeLessThan(5_000);
  });

  it('with a trickling upstream, without the proxy; the cancelled call is audited', async () => {
    expect(await closeDuringCall('/trickle')).toBeLessThan(5_000);
    const log = await readFile(join(machine.env.AGENTSECRETS_HOME as string, 'audit.jsonl'), 'utf8');
    const last = JSON.parse(log.trim().split('\n').at(-1) as string);
    expect(last).toMatchObject({ transport: 'mcp', status: 'ERROR', target: `${upstream.origin}/trickle` });
  });

  it('with a hanging upstream, through the running proxy', async () => {
    const proxy = await startProxyProcess(machine);
    try {
      expect(await closeDuringCall('/hang')).toBeLessThan(5_000);
      expect(proxy.alive()).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});
