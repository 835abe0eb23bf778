// `service install|status|uninstall` on the built CLI. This machine has no systemd user manager (root, no login
// session), so install must write the unit, say it could not start it and how to; the unit is then verified with
// `systemd-analyze verify` and run exactly as the manager would run it (its ExecStart, Environment and
// WorkingDirectory, nothing else): locked, unlocked, killed.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findLeaks } from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers.js';
import { preparedMachine } from './proxy-process.js';

const PASSPHRASE = 'pp-CANARY-service-3b8e1f0a27';
let machine: Awaited<ReturnType<typeof preparedMachine>>;
let env: NodeJS.ProcessEnv;
let unitPath: string;
let port: number;
const opts = () => ({ env, cwd: machine.project });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** systemd's reading of the words we write: `"…"` with `\` escapes, `%%` and `$$` doubled. */
function words(value: string): string[] {
  return (value.match(/"(?:[^"\\]|\\.)*"/g) ?? []).map((w) =>
    w.slice(1, -1).replace(/\\(.)/g, '$1').replaceAll('%%', '%').replaceAll('$$', '$'),
  );
}

beforeAll(async () => {
  machine = await preparedMachine(['api.example.com']);
  machine.env.AGENTSECRETS_PASSPHRASE = PASSPHRASE;
  // preparedMachine set the vault up with its own passphrase: this file's canary is only ever typed at unlock.
  env = { ...machine.env };
  // No user manager can be reached from the test, even on a desktop that has one.
  env.XDG_CONFIG_HOME = join(machine.root, 'config');
  env.XDG_RUNTIME_DIR = await mkdtemp(join(tmpdir(), 'as-xdg-'));
  delete env.DBUS_SESSION_BUS_ADDRESS;
  unitPath = join(env.XDG_CONFIG_HOME, 'systemd', 'user', 'agentsecrets-proxy.service');
  port = await freePort();
});

afterAll(async () => {
  await run(['proxy', 'stop'], opts());
  await rm(machine.root, { recursive: true, force: true });
  await rm(env.XDG_RUNTIME_DIR as string, { recursive: true, force: true });
});

describe('service install without a user manager', () => {
  it('writes the unit, says it could not start it and exactly how to', async () => {
    const r = await run(['service', 'install', '--port', String(port)], opts());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${unitPath}`);
    expect(r.stderr).toMatch(/^warning: the systemd user manager did not start it \(.+\)/);
    expect(r.stderr).toContain(
      'systemctl --user daemon-reload && systemctl --user enable --now agentsecrets-proxy',
    );
    expect(r.stdout).toContain('type `agentsecrets unlock`');
  });

  it('the unit passes systemd-analyze verify and holds no passphrase', async () => {
    const unit = await readFile(unitPath, 'utf8');
    expect(findLeaks(unit, PASSPHRASE)).toEqual([]);
    expect(findLeaks(unit, 'owner passphrase for tests')).toEqual([]);
    const verify = spawn('systemd-analyze', ['verify', unitPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const err: Buffer[] = [];
    verify.stderr.on('data', (c: Buffer) => err.push(c));
    const code = await new Promise<number | null>((r) => verify.on('close', r));
    expect(Buffer.concat(err).toString()).toBe('');
    expect(code).toBe(0);
  });

  it('service status says installed, the manager not answering, no proxy', async () => {
    const r = await run(['service', 'status'], opts());
    expect(r.stdout).toContain(`service: installed at ${unitPath} (systemd user manager: not answering)`);
    expect(r.stdout).toContain('proxy: not running');
  });
});

describe('the unit run as systemd runs it', () => {
  it('starts locked, opens with unlock, and a kill -9 leaves a record status calls stale', async () => {
    const unit = await readFile(unitPath, 'utf8');
    const [command, ...args] = words(/^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '');
    const cwd = /^WorkingDirectory=(.*)$/m.exec(unit)?.[1]?.replaceAll('%%', '%');
    const unitEnv: Record<string, string> = { HOME: env.HOME as string, PATH: env.PATH as string };
    for (const m of unit.matchAll(/^Environment=(.*)$/gm)) {
      const [assignment] = words(m[1] ?? '');
      const at = assignment?.indexOf('=') ?? -1;
      if (assignment !== undefined && at > 0) unitEnv[assignment.slice(0, at)] = assignment.slice(at + 1);
    }
    expect(unitEnv.AGENTSECRETS_HOME).toBe(env.AGENTSECRETS_HOME);
    expect(unitEnv.AGENTSECRETS_PASSPHRASE).toBeUndefined();
    const proxy = spawn(command as string, args, { cwd, env: unitEnv, stdio: 'ignore' });
    try {
      let status = '';
      for (let waited = 0; !status.includes('proxy: running') && waited < 30_000; waited += 200) {
        await sleep(200);
        status = (await run(['service', 'status'], opts())).stdout;
      }
      expect(status).toContain(`proxy: running at http://127.0.0.1:${port} (pid ${proxy.pid}), vault locked`);
      const environ = await readFile(`/proc/${proxy.pid}/environ`, 'latin1');
      expect(environ).not.toContain('AGENTSECRETS_PASSPHRASE');

      const bare = { ...env };
      delete bare.AGENTSECRETS_PASSPHRASE;
      const call = await run(['call', '--url', 'https://api.example.com/', '--bearer', 'API_KEY'], {
        env: bare,
        cwd: machine.project,
      });
      expect(call.code).toBe(6);
      expect(call.stderr).toMatch(/^error VAULT_LOCKED: .*`agentsecrets unlock`/);

      const unlock = await run(['unlock', '--stdin'], {
        env: bare,
        cwd: machine.project,
        input: 'owner passphrase for tests\n',
      });
      expect(unlock.code, unlock.stderr).toBe(0);
      const open = (await run(['service', 'status'], opts())).stdout;
      expect(open).toContain(`proxy: running at http://127.0.0.1:${port} (pid ${proxy.pid})\n`);

      proxy.kill('SIGKILL');
      await new Promise((r) => proxy.once('exit', r));
      const stale = await run(['proxy', 'status'], opts());
      expect(stale.stdout).toMatch(/^not running: the proxy \(pid \d+\) ended without stopping/);
    } finally {
      proxy.kill('SIGKILL');
    }
  });
});

describe('service uninstall', () => {
  it('removes the unit; status then says not installed', async () => {
    const r = await run(['service', 'uninstall'], opts());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed ${unitPath}`);
    const status = await run(['service', 'status', '--json'], opts());
    expect(JSON.parse(status.stdout)).toMatchObject({ installed: false, proxy: null });
    expect((await run(['service', 'uninstall'], opts())).stdout).toContain('not installed');
  });

  it('install --dry-run prints the unit and writes nothing', async () => {
    const r = await run(['service', 'install', '--dry-run'], opts());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`would write ${unitPath}:`);
    expect(r.stdout).toMatch(/^ExecStart=.*"proxy" "start" "--locked"/m);
    const status = await run(['service', 'status', '--json'], opts());
    expect(JSON.parse(status.stdout)).toMatchObject({ installed: false });
  });
});
