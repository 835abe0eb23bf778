// The proxy's lifecycle as a user meets it, on the built CLI: commands that need a proxy when none runs, a proxy
// killed with SIGKILL (its proxy.json left behind), and `proxy start --detach` on a port something else holds.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, run } from './helpers.js';
import { preparedMachine } from './proxy-process.js';

let machine: Awaited<ReturnType<typeof preparedMachine>>;
const opts = () => ({ env: machine.env, cwd: machine.project });
const statePath = () => join(machine.env.AGENTSECRETS_HOME as string, 'proxy.json');

beforeAll(async () => {
  machine = await preparedMachine(['api.example.com']);
});

afterAll(async () => {
  await run(['proxy', 'stop'], opts());
  await rm(machine.root, { recursive: true, force: true });
});

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('without a proxy', () => {
  for (const command of [
    ['proxy', 'stop'],
    ['proxy', 'token'],
  ]) {
    it(`${command.join(' ')} says no proxy is running (PROXY_NOT_RUNNING, exit 4)`, async () => {
      const r = await run(command, opts());
      expect(r.code).toBe(4);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^error PROXY_NOT_RUNNING: no proxy is running/);
      expect(r.stderr).toContain('agentsecrets proxy start');
    });
  }
});

describe('a proxy killed with SIGKILL', () => {
  it('proxy status says the record is stale, removes it, and a new proxy starts', async () => {
    const started = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
    expect(started.code, started.stderr).toBe(0);
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    for (let waited = 0; waited < 10_000 && pidAlive(pid); waited += 50) await sleep(50);

    const status = await run(['proxy', 'status'], opts());
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^not running: the proxy \(pid \d+\) ended without stopping/);
    expect(status.stdout).toContain('stale');
    expect(status.stdout).not.toMatch(/^running/);
    expect(existsSync(statePath())).toBe(false);
    expect((await run(['proxy', 'status'], opts())).stdout.trim()).toBe('not running');

    const again = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
    expect(again.code, again.stderr).toBe(0);
    expect((await run(['proxy', 'stop'], opts())).code).toBe(0);
  });

  it('a zombie proxy (killed, its parent never reaps it) is stale too, and does not block a new start', async () => {
    await rm(statePath(), { force: true });
    // `exec sleep` makes sleep the proxy's parent: it never waits, so the killed proxy stays a zombie, as it does
    // under a container init that does not reap.
    const parent = spawn(
      'sh',
      ['-c', `"${process.execPath}" "${BIN}" proxy start --port 0 >/dev/null 2>&1 & exec sleep 120`],
      { env: machine.env, cwd: machine.project, stdio: 'ignore' },
    );
    try {
      let pid = 0;
      for (let waited = 0; pid === 0 && waited < 30_000; waited += 100) {
        await sleep(100);
        pid = await readFile(statePath(), 'utf8').then(
          (t) => JSON.parse(t).pid as number,
          () => 0,
        );
      }
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGKILL');
      await sleep(500);
      expect(pidAlive(pid)).toBe(true); // signal 0 still reaches a zombie
      const status = await run(['proxy', 'status'], opts());
      expect(status.stdout).toMatch(/^not running: the proxy \(pid \d+\) ended without stopping/);
      expect(existsSync(statePath())).toBe(false);
      const again = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
      expect(again.code, again.stderr).toBe(0);
      expect((await run(['proxy', 'stop'], opts())).code).toBe(0);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('a record whose pid now belongs to another program is stale: stop does not signal that program', async () => {
    const started = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
    expect(started.code, started.stderr).toBe(0);
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    const recorded = JSON.parse(await readFile(statePath(), 'utf8'));
    process.kill(pid, 'SIGKILL');
    for (let waited = 0; waited < 10_000 && pidAlive(pid); waited += 50) await sleep(50);
    // The pid is reused by an unrelated process (here: one we own), the port by nothing.
    const other = spawn('sleep', ['120'], { stdio: 'ignore' });
    try {
      await writeFile(statePath(), JSON.stringify({ ...recorded, pid: other.pid }), { mode: 0o600 });
      const stop = await run(['proxy', 'stop'], opts());
      expect(stop.code).toBe(4);
      expect(stop.stderr).toMatch(/^error PROXY_NOT_RUNNING/);
      expect(other.exitCode).toBeNull();
      expect(pidAlive(other.pid as number)).toBe(true);
      expect(existsSync(statePath())).toBe(false);
      // Nor does it keep a new proxy (the service's, after a reboot) from starting.
      await writeFile(statePath(), JSON.stringify({ ...recorded, pid: other.pid }), { mode: 0o600 });
      const start = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
      expect(start.code, start.stderr).toBe(0);
      expect((await run(['proxy', 'stop'], opts())).code).toBe(0);
      expect(pidAlive(other.pid as number)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('proxy status --json reports it as not running and stale', async () => {
    const started = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
    expect(started.code, started.stderr).toBe(0);
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    process.kill(pid, 'SIGKILL');
    for (let waited = 0; waited < 10_000 && pidAlive(pid); waited += 50) await sleep(50);
    const status = await run(['proxy', 'status', '--json'], opts());
    expect(JSON.parse(status.stdout)).toEqual({ running: false, stale: { pid } });
    expect(existsSync(statePath())).toBe(false);
  });
});

describe('proxy start --detach on a busy port', () => {
  let busy: Server;
  let port: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it('names the port (PORT_IN_USE, exit 1), not INTERNAL_ERROR', async () => {
    const r = await run(['proxy', 'start', '--detach', '--port', String(port)], opts());
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error PORT_IN_USE: port \d+ on 127\.0\.0\.1 is already in use/);
    expect(r.stderr).toContain(String(port));
    expect(r.stderr).toContain('--port');
    expect(existsSync(statePath())).toBe(false);
  });

  it('in the foreground too', async () => {
    const r = await run(['proxy', 'start', '--port', String(port)], opts());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error PORT_IN_USE: port \d+ on 127\.0\.0\.1 is already in use/);
  });
});
