// The proxy client against what a proxy might answer on the wire, served by a bare node:http server: answers cut
// off, answers it cannot read, repeated headers and the redaction trailer, and nothing listening. Each ends as the
// one AgentSecretsError a caller maps, never a TypeError or a hang.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveHome } from '@agentsecrets/fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyClient } from './client.js';
import { PROXY_STATE, type ProxyState, readRecordedProxyState } from './state.js';

let server: Server | undefined;
let client: ProxyClient | undefined;

async function serve(handler: RequestListener, options: { idleMs?: number } = {}): Promise<ProxyClient> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new ProxyClient(
    { pid: process.pid, host: '127.0.0.1', port, token: 'tok', startedAt: '' },
    options,
  );
  return client;
}

async function failure(
  promise: Promise<unknown>,
): Promise<{ code?: string; message: string; cause?: unknown }> {
  try {
    await promise;
  } catch (e) {
    return e as { code?: string; message: string; cause?: unknown };
  }
  throw new Error('expected a failure');
}

afterEach(async () => {
  await client?.close();
  client = undefined;
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe('ProxyClient on the wire', () => {
  it('gives up on a listener that stops answering, and on an answer without end', async () => {
    const silent = await serve(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('['); // and nothing more
      },
      { idleMs: 300 },
    );
    expect((await failure(silent.listSecrets())).code).toBe('UPSTREAM_RESET');
    await client?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));

    const endless = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1 << 20, 0x20);
      const pump = () => {
        while (res.write(chunk)) if (res.destroyed) return;
      };
      res.on('drain', pump);
      pump();
    });
    expect((await failure(endless.listSecrets())).code).toBe('REQUEST_TOO_LARGE');
  });

  it('reads repeated upstream headers value by value and the redaction trailer after the body', async () => {
    const proxy = await serve((req, res) => {
      expect(req.headers['x-as-session-token']).toBe('tok');
      res.writeHead(200, [
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['X-Multi', 'one'],
        ['X-Multi', 'two'],
        ['Trailer', 'X-AS-Redacted'],
      ]);
      res.write('part one, ');
      res.addTrailers({ 'X-AS-Redacted': 'true' });
      res.end('part two');
    });
    const answer = await proxy.fetch({ url: 'https://api.example.com/', injections: [], transport: 'cli' });
    expect(answer.body.toString()).toBe('part one, part two');
    expect(answer.redacted).toBe(true);
    expect(answer.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v)).toEqual(['a=1', 'b=2']);
    expect(answer.headers.filter(([n]) => n === 'x-multi').map(([, v]) => v)).toEqual(['one', 'two']);
    expect(answer.headers.some(([n]) => n === 'trailer')).toBe(false);
  });

  it('says an answer cut off mid-body is cut off (UPSTREAM_RESET)', async () => {
    const proxy = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('the first half');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const e = await failure(
      proxy.fetch({ url: 'https://api.example.com/', injections: [], transport: 'cli' }),
    );
    expect(e.code).toBe('UPSTREAM_RESET');
  });

  it('says an answer it cannot read is one, without quoting it', async () => {
    let answer = 'not json: sk_live_QUOTED_BACK';
    const proxy = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
    for (const [body, op] of [
      [answer, () => proxy.listSecrets()],
      ['[{"name":"A"}]', () => proxy.listSecrets()],
      ['{"vault":"ajar"}', () => proxy.vault()],
      ['{"changed":"yes"}', () => proxy.lock()],
      ['null', () => proxy.status()],
    ] as const) {
      answer = body;
      const e = await failure(op());
      expect(e.code).toBe('INTERNAL_ERROR');
      expect(e.message).toMatch(/gave an answer to \/\w+ that this client cannot read/);
      expect(e.message).not.toContain('sk_live');
      expect(e.cause).toBeUndefined();
    }
    answer = '[{"name":"A","releasable":false,"bindings":[]}]';
    expect(await proxy.listSecrets()).toEqual([{ name: 'A', releasable: false, bindings: [] }]);
  });

  it('says nothing answers where nothing listens, with the refusal as its cause (what a reconnect checks)', async () => {
    const proxy = await serve((_req, res) => res.end());
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const e = await failure(proxy.check());
    expect(e.code).toBe('UPSTREAM_UNREACHABLE');
    expect((e.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('refuses a header that is not valid HTTP before sending anything (INVALID_ARGUMENT, not "did not answer")', async () => {
    let requests = 0;
    const proxy = await serve((_req, res) => {
      requests += 1;
      res.end();
    });
    for (const headers of [
      [['X-A', 'b\r\nX-Injected: c']],
      [['X-A\r\nX-Injected', 'c']],
      [['Bad Name', 'c']],
    ] as [string, string][][]) {
      const e = await failure(
        proxy.fetch({ url: 'https://api.example.com/', headers, injections: [], transport: 'cli' }),
      );
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).not.toContain('Injected');
    }
    expect(requests).toBe(0);
  });

  it('keeps one connection for many calls and ends when closed', async () => {
    const sockets = new Set<unknown>();
    const proxy = await serve((req, res) => {
      sockets.add(req.socket);
      res.end('{"vault":"open"}');
    });
    for (let i = 0; i < 5; i += 1) expect(await proxy.vault()).toBe('open');
    expect(sockets.size).toBe(1);
  });
});

describe('proxy.json', () => {
  const good: ProxyState = { pid: 1, host: '127.0.0.1', port: 1, token: null, startedAt: 'now' };

  it('takes a proxy state and refuses anything else, naming the first bad field', () => {
    expect(PROXY_STATE.safeParse(good)).toEqual({ success: true, data: good });
    expect(PROXY_STATE.safeParse({ ...good, token: 'tok' }).success).toBe(true);
    for (const [bad, field] of [
      [{ ...good, pid: 0 }, 'pid'],
      [{ ...good, pid: 1.5 }, 'pid'],
      [{ ...good, pid: '1' }, 'pid'],
      [{ ...good, host: 1 }, 'host'],
      [{ ...good, port: 0 }, 'port'],
      [{ ...good, port: 65536 }, 'port'],
      [{ ...good, token: undefined }, 'token'],
      [{ ...good, startedAt: null }, 'startedAt'],
      [{ ...good, extra: true }, 'extra'],
    ] as const) {
      const parsed = PROXY_STATE.safeParse(bad);
      expect(parsed.success ? undefined : parsed.error.issues[0]?.path).toEqual([field]);
    }
    for (const bad of [null, [], 'x', 1]) expect(PROXY_STATE.safeParse(bad).success).toBe(false);
    expect(() => PROXY_STATE.parse({ ...good, port: -1 })).toThrow(/port/);
  });

  it('is CONFIG_INVALID naming the field when it does not hold a proxy state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'as-proxy-state-'));
    try {
      const paths = resolveHome({}, dir);
      await writeFile(paths.proxy, JSON.stringify({ ...good, port: 'eighty' }));
      const e = await failure(readRecordedProxyState(paths));
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.message).toContain('invalid field: port');
      await writeFile(paths.proxy, JSON.stringify(good));
      expect(await readRecordedProxyState(paths)).toEqual(good);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
