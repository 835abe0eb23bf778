import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, freshMachine, run } from './helpers.js';

/** A machine with a file vault, one secret and the given upstream origins on the allowlist. */
export async function preparedMachine(
  origins: readonly string[],
  options: { secret?: string; home?: string } = {},
): Promise<Awaited<ReturnType<typeof freshMachine>>> {
  const secret = options.secret ?? 'sk_test_FAULTS_canary_0123456789';
  const machine = await freshMachine();
  if (options.home !== undefined) machine.env.AGENTSECRETS_HOME = options.home;
  const opts = { env: machine.env, cwd: machine.project };
  for (const args of [
    ['init', '--yes'],
    ['allowlist', 'add', ...origins],
  ]) {
    const r = await run(args, opts);
    if (r.code !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  }
  const set = await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...opts, input: secret });
  if (set.code !== 0) throw new Error(`secrets set failed: ${set.stderr}`);
  return machine;
}

/** The real proxy, run by the built CLI in the foreground (`proxy start --port 0`). */
export interface ProxyProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly token: string;
  /** Everything the process printed so far. */
  output(): string;
  /** True while the process has not exited. */
  alive(): boolean;
  /** Resolves with the exit code (or signal) once the process ends. */
  readonly exited: Promise<number | string | null>;
  stop(): Promise<void>;
}

/**
 * Starts `agentsecrets proxy start --port 0` and waits until it records itself in proxy.json. `wrap` runs it under
 * another program (e.g. `prlimit --nofile=256:256 --`).
 */
export async function startProxyProcess(
  machine: { env: NodeJS.ProcessEnv; project: string },
  options: { wrap?: readonly string[]; args?: readonly string[] } = {},
): Promise<ProxyProcess> {
  const argv = [process.execPath, BIN, 'proxy', 'start', '--port', '0', ...(options.args ?? [])];
  const [cmd, ...rest] = [...(options.wrap ?? []), ...argv] as [string, ...string[]];
  const child = spawn(cmd, rest, {
    env: machine.env,
    cwd: machine.project,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  child.stderr?.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  );
  const output = () => Buffer.concat(chunks).toString('utf8');
  const statePath = join(machine.env.AGENTSECRETS_HOME as string, 'proxy.json');
  for (let waited = 0; ; waited += 50) {
    if (child.exitCode !== null) throw new Error(`the proxy exited: ${output()}`);
    const state = await readFile(statePath, 'utf8').then(
      (t) => JSON.parse(t) as { pid: number; port: number; token: string },
      () => undefined,
    );
    if (state?.pid === child.pid && output().includes('listening')) {
      return {
        child,
        port: state.port,
        token: state.token,
        output,
        alive: () => child.exitCode === null && child.signalCode === null,
        exited,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(timer);
          }
        },
      };
    }
    if (waited > 30_000) throw new Error(`the proxy did not start: ${output()}`);
    await sleep(50);
  }
}

/** Sends raw bytes to 127.0.0.1:port and collects what comes back until the peer closes or `ms` pass. */
export function rawExchange(port: number, data: Buffer | string, ms = 3_000): Promise<Buffer> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(data));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(out));
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (c: Buffer) => out.push(c));
    socket.on('error', done);
    socket.on('close', done);
  });
}

/** GET /health over a new connection; true when it answers 200 within `ms`. */
export async function healthy(port: number, ms = 5_000): Promise<boolean> {
  const answer = await rawExchange(
    port,
    `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    ms,
  );
  return answer.toString('latin1').startsWith('HTTP/1.1 200');
}

/**
 * A raw TCP upstream: every connection reads one request head (and body when it says how long it is, or chunked
 * until its last chunk), then `respond` decides what bytes go back and whether the connection then ends, hangs or
 * resets. `seen` records each request with whether its body arrived complete.
 */
export interface RawUpstream {
  readonly port: number;
  readonly origin: string;
  readonly seen: { head: string; body: Buffer; complete: boolean }[];
  respond: (head: string, socket: Socket) => void;
  close(): Promise<void>;
}

function parseChunked(data: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) return { body: Buffer.concat(parts), complete: false };
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(parts), complete: false };
    if (size === 0) return { body: Buffer.concat(parts), complete: data.indexOf('\r\n\r\n', eol) >= 0 };
    if (data.length < eol + 2 + size + 2) {
      parts.push(data.subarray(eol + 2, Math.min(data.length, eol + 2 + size)));
      return { body: Buffer.concat(parts), complete: false };
    }
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

export async function startRawUpstream(): Promise<RawUpstream> {
  const sockets = new Set<Socket>();
  const upstream: RawUpstream = {
    port: 0,
    origin: '',
    seen: [],
    respond: (_head, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let data = Buffer.alloc(0);
    let entry: { head: string; body: Buffer; complete: boolean } | undefined;
    let answered = false;
    const update = () => {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = data.subarray(0, end).toString('latin1');
      const rest = data.subarray(end + 4);
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
      const { body, complete } = chunked
        ? parseChunked(rest)
        : { body: rest, complete: rest.length >= Number(length?.[1] ?? 0) };
      if (entry === undefined) {
        entry = { head, body, complete };
        upstream.seen.push(entry);
      } else {
        entry.body = body;
        entry.complete = complete;
      }
      if (complete && !answered) {
        answered = true;
        upstream.respond(head, socket);
      }
    };
    socket.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      update();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return Object.assign(upstream, { port, origin: `http://127.0.0.1:${port}` });
}
