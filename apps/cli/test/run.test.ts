// `agentsecrets run` on the real built binaries: a local TLS upstream with its own CA (allowlisted by address), curl,
// Node fetch, Python urllib and git through the forward proxy, with and without the bubblewrap sandbox.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  findLeaks,
  makeBareRepo,
  startTlsUpstream,
  startUpstream,
  type TlsUpstream,
  type Upstream,
} from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freshMachine, run } from './helpers.js';

const PROBE = fileURLToPath(new URL('./fixtures/agent-probe.sh', import.meta.url));
const GITHUB_VALUE = `ghp_RUNCANARY${randomBytes(12).toString('hex')}abcd`;
const GIT_VALUE = `git-value-RUNCANARY-${randomBytes(8).toString('hex')}`;
const PASSPHRASE = `pass-canary-${randomBytes(8).toString('hex')}`;
const KEYRING_CANARY = `keyring-canary-${randomBytes(8).toString('hex')}`;
const LONG = 240_000;

const bwrapReady =
  process.platform === 'linux' &&
  spawnSync('bwrap', ['--unshare-user', '--unshare-net', '--ro-bind', '/', '/', '--', '/bin/true']).status ===
    0 &&
  spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
const outerIp = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

let machine: Awaited<ReturnType<typeof freshMachine>>;
let up: TlsUpstream;
let other: TlsUpstream;
let plain: Upstream;
let caFile: string;
const opts = (extra: NodeJS.ProcessEnv = {}) => ({
  env: { ...machine.env, NODE_EXTRA_CA_CERTS: caFile, ...extra },
  cwd: machine.project,
  timeoutMs: LONG,
});
const audit = async () =>
  (await readFile(join(machine.env.AGENTSECRETS_HOME!, 'audit.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  machine = await freshMachine();
  machine.env.AGENTSECRETS_PASSPHRASE = PASSPHRASE;
  up = await startTlsUpstream({ gitRoot: makeBareRepo(), gitPassword: GIT_VALUE });
  other = await startTlsUpstream();
  plain = await startUpstream();
  caFile = join(machine.root, 'upstream-cas.pem');
  await writeFile(caFile, `${up.caPem}${other.caPem}`);
  const o = opts();
  expect((await run(['init', '--yes'], o)).code).toBe(0);
  expect((await run(['secrets', 'set', 'GITHUB_TOKEN', '--stdin'], { ...o, input: GITHUB_VALUE })).code).toBe(
    0,
  );
  expect((await run(['secrets', 'set', 'GIT_TOKEN', '--stdin'], { ...o, input: GIT_VALUE })).code).toBe(0);
  expect((await run(['allowlist', 'add', `127.0.0.1:${up.port}`, `127.0.0.1:${other.port}`], o)).code).toBe(
    0,
  );
  expect((await run(['secrets', 'bind', 'GITHUB_TOKEN', `127.0.0.1:${up.port}`], o)).code).toBe(0);
}, LONG);

afterAll(async () => {
  await Promise.all([up?.close(), other?.close(), plain?.close()]);
  await rm(machine.root, { recursive: true, force: true });
});

describe('run --no-sandbox, with a proxy in the run process', () => {
  it('swaps the placeholder where the policy allows: the upstream gets the value, the agent a redacted echo', async () => {
    const r = await run(
      [
        'run',
        '--no-sandbox',
        '--',
        'sh',
        '-c',
        `echo "TOKEN=$GITHUB_TOKEN"; env; curl -sS -H "Authorization: Bearer $GITHUB_TOKEN" ${up.origin}/echo`,
      ],
      opts(),
    );
    expect(r.stderr).toContain('warning: --no-sandbox');
    expect(r.code).toBe(0);
    const placeholder = /TOKEN=(\S+)/.exec(r.stdout)?.[1] ?? '';
    expect(placeholder).toMatch(/^ghp_[A-Za-z0-9]{36}$/);
    expect(r.stdout).toContain('Authorization: Bearer [REDACTED_BY_AGENTSECRETS]');
    const seen = up.requests.at(-1)!;
    expect(seen.headers.authorization).toBe(`Bearer ${GITHUB_VALUE}`);
    // Nothing of the value, the passphrase or the proxy's session in what the agent saw or had in its environment.
    for (const leak of [GITHUB_VALUE, GIT_VALUE, PASSPHRASE, 'AGENTSECRETS_'])
      expect(r.stdout + r.stderr).not.toContain(leak);
    expect(r.stdout).toMatch(/HTTPS_PROXY=http:\/\/agentsecrets:[^@]+@127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/^NO_PROXY=$/m);
    expect(r.stdout).toMatch(/^CURL_CA_BUNDLE=.*ca-bundle\.pem$/m);
  });

  it('refuses a placeholder bound for a host that is not allowlisted, or that its secret may not reach: 403, audited, not sent', async () => {
    const before = plain.requests.length;
    const otherBefore = other.requests.length;
    const r = await run(
      [
        'run',
        '--no-sandbox',
        '--',
        'sh',
        '-c',
        `curl -sS -H "Authorization: Bearer $GITHUB_TOKEN" -w ' %{http_code}\\n' http://127.0.0.1:${plain.port}/x; curl -sS -H "Authorization: Bearer $GITHUB_TOKEN" -w ' %{http_code}\\n' ${other.origin}/y`,
      ],
      opts(),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/DOMAIN_NOT_ALLOWED.* 403/);
    expect(r.stdout).toMatch(/BINDING_VIOLATION.* 403/);
    expect(plain.requests.length).toBe(before);
    expect(other.requests.length).toBe(otherBefore);
    const events = (await audit()).filter((e) => e.transport === 'run' && e.status === 'BLOCKED');
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['DOMAIN_NOT_ALLOWED', 'BINDING_VIOLATION']),
    );
    expect(
      events.every((e) => e.agent_id === 'sh' && (e.secret_keys as string[]).includes('GITHUB_TOKEN')),
    ).toBe(true);
  });

  it('applies the address rule to traffic without placeholders: a local service that is not allowlisted is refused', async () => {
    const before = plain.requests.length;
    const r = await run(
      [
        'run',
        '--no-sandbox',
        '--',
        'sh',
        '-c',
        `curl -sS -w ' %{http_code}' http://127.0.0.1:${plain.port}/a; echo; curl -sS --proxytunnel -w ' %{http_code}' http://127.0.0.1:${plain.port}/b`,
      ],
      opts(),
    );
    expect(r.stdout).toMatch(/SSRF_BLOCKED.* 403/);
    expect(r.stdout + r.stderr).toMatch(/403/);
    expect(plain.requests.length).toBe(before);
  });

  it('--deny-other-hosts refuses traffic to hosts that are not allowlisted, by absolute URI and by CONNECT', async () => {
    const r = await run(
      [
        'run',
        '--no-sandbox',
        '--deny-other-hosts',
        '--',
        'sh',
        '-c',
        'curl -sS -m 20 http://1.1.1.1/; echo; curl -sS -m 20 https://1.1.1.1/',
      ],
      opts(),
    );
    expect(r.stdout).toContain('DOMAIN_NOT_ALLOWED');
    expect(r.stderr).toMatch(/CONNECT tunnel failed, response 403/);
  });

  it('a value given to --only where a name belongs is never echoed back', async () => {
    const r = await run(['run', '--no-sandbox', '--only', GITHUB_VALUE, '--', 'true'], opts());
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('SECRET_NOT_FOUND');
    expect(findLeaks(r.stdout + r.stderr, GITHUB_VALUE)).toEqual([]);
  });

  it('passes the exit code and a signal (128+n) through', async () => {
    expect((await run(['run', '--no-sandbox', '--', 'sh', '-c', 'exit 7'], opts())).code).toBe(7);
    expect((await run(['run', '--no-sandbox', '--', 'sh', '-c', 'kill -TERM $$'], opts())).code).toBe(143);
  });

  it('refuses with SANDBOX_UNAVAILABLE when no sandbox can be made, unless --no-sandbox', async () => {
    const r = await run(['run', '--', 'true'], opts({ PATH: '/nonexistent' }));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('SANDBOX_UNAVAILABLE');
    expect(r.stderr).toContain('--no-sandbox');
  });
});

describe.skipIf(!bwrapReady || outerIp === undefined)('run in the sandbox, through the running proxy', () => {
  let proxy: ChildProcess;
  const servers: (Server | UdpSocket)[] = [];
  const probeEnv: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    proxy = spawn(process.execPath, [BIN, 'proxy', 'start', '--port', '0'], {
      env: { ...machine.env, NODE_EXTRA_CA_CERTS: caFile },
      cwd: machine.project,
      stdio: 'ignore',
    });
    const state = join(machine.env.AGENTSECRETS_HOME!, 'proxy.json');
    for (let i = 0; i < 600 && !existsSync(state); i += 1) await new Promise((r) => setTimeout(r, 100));
    const listen = async (host: string) => {
      const s = createServer((c) => {
        c.on('error', () => undefined);
        c.end('hello\n');
      });
      await new Promise<void>((r) => s.listen(0, host, r));
      servers.push(s);
      return `${host}:${(s.address() as { port: number }).port}`;
    };
    const udp = async (host: string) => {
      const s = createSocket('udp4');
      s.on('message', (m, from) => s.send(m, from.port, from.address));
      await new Promise<void>((r) => s.bind(0, host, r));
      servers.push(s);
      return `${host}:${s.address().port}`;
    };
    await mkdir(join(machine.project, '.git', 'hooks'), { recursive: true });
    await writeFile(join(machine.project, '.git', 'config'), '');
    const decoy = join(machine.project, 'decoy.sock');
    const unix = createServer((c) => {
      c.on('error', () => undefined);
      c.end();
    });
    await new Promise<void>((r) => unix.listen(decoy, r));
    servers.push(unix);
    if (
      process.env.DBUS_SESSION_BUS_ADDRESS !== undefined &&
      spawnSync('secret-tool', ['--version']).status !== null
    ) {
      const stored = spawnSync(
        'secret-tool',
        ['store', '--label', 'run test', 'service', 'agentsecrets-run-test', 'account', 'a'],
        {
          input: KEYRING_CANARY,
        },
      );
      if (stored.status === 0) Object.assign(probeEnv, { WITH_KEYRING: '1', KEYRING_CANARY });
    }
    Object.assign(probeEnv, {
      AS_HOME: machine.env.AGENTSECRETS_HOME,
      PROXY_PID: String(proxy.pid),
      PASS_CANARY_B64: Buffer.from(PASSPHRASE).toString('base64'),
      LOOPBACK_TCP: await listen('127.0.0.1'),
      OUTER_TCP: await listen(outerIp!),
      LOOPBACK_UDP: await udp('127.0.0.1'),
      OUTER_UDP: await udp(outerIp!),
      DECOY_SOCK: decoy,
      UP_URL: up.origin,
      NODE_BIN: process.execPath,
      PATH: process.env.PATH,
    });
  }, LONG);

  afterAll(async () => {
    proxy?.kill('SIGTERM');
    for (const s of servers) s.close();
  });

  const probe = async (sandboxed: boolean) => {
    const args = ['run', ...(sandboxed ? [] : ['--no-sandbox']), '--', PROBE];
    const r = await run(
      args,
      opts({ ...probeEnv, DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS }),
    );
    const lines = r.stdout.trim().split('\n');
    const result = new Map(lines.map((l) => [l.split(' ')[1]!, l]));
    return { r, result };
  };

  it('every escape fails inside, and what must work works', async () => {
    const before = up.requests.length;
    const { r, result } = await probe(true);
    expect(r.stderr).not.toContain('warning');
    const holes = [...result.values()].filter((l) => !l.startsWith('ok '));
    expect(holes, r.stdout + r.stderr).toEqual([]);
    for (const id of [
      'home-read',
      'home-write',
      'proc-environ',
      'proc-mem',
      'ptrace',
      'tcp-loopback',
      'tcp-outer',
      'udp-loopback',
      'dns-outer',
      'unix-socket',
      'git-hooks',
      'must-curl',
      'must-node-fetch',
      'must-git',
    ]) {
      expect(result.has(id), id).toBe(true);
    }
    const seen = up.requests.slice(before);
    for (const path of ['/curl', '/node', ...(result.has('must-python') ? ['/python'] : [])]) {
      expect(seen.find((q) => q.url === path)?.headers.authorization, path).toBe(`Bearer ${GITHUB_VALUE}`);
    }
    expect(
      seen.some(
        (q) =>
          q.url.startsWith('/git/') &&
          q.headers.authorization ===
            `Basic ${Buffer.from(`x-access-token:${GIT_VALUE}`).toString('base64')}`,
      ),
    ).toBe(true);
    for (const leak of [GITHUB_VALUE, GIT_VALUE, PASSPHRASE, KEYRING_CANARY])
      expect(r.stdout + r.stderr).not.toContain(leak);
    const events = (await audit()).filter((e) => e.transport === 'run' && e.agent_id === 'agent-probe.sh');
    expect(events.some((e) => (e.secret_keys as string[]).includes('GIT_TOKEN') && e.status === 'OK')).toBe(
      true,
    );
  });

  it('the same escapes succeed without the sandbox, so no check above passes vacuously', async () => {
    const { r, result } = await probe(false);
    await rm(join(machine.env.AGENTSECRETS_HOME!, 'planted'), { force: true });
    const escapes = [
      'home-read',
      'home-write',
      'proc-environ',
      'proc-mem',
      'ptrace',
      'tcp-loopback',
      'tcp-outer',
      'udp-loopback',
      'dns-outer',
      'unix-socket',
      'git-hooks',
      ...(probeEnv.WITH_KEYRING ? ['secret-tool-search', 'secret-tool-lookup'] : []),
    ];
    // Reading another process's memory and ptrace need root or ptrace_scope 0 outside a sandbox.
    const privileged = process.getuid?.() === 0;
    for (const id of escapes) {
      if (!privileged && (id === 'proc-mem' || id === 'ptrace')) continue;
      expect(result.get(id), `${id}\n${r.stdout}`).toMatch(/^HOLE /);
    }
    for (const id of ['must-curl', 'must-node-fetch', 'must-git'])
      expect(result.get(id), r.stdout).toMatch(/^ok /);
  });

  it('passes the exit code and a signal through the sandbox', async () => {
    expect((await run(['run', '--', 'sh', '-c', 'exit 7'], opts())).code).toBe(7);
    expect((await run(['run', '--', 'sh', '-c', 'kill -TERM $$'], opts())).code).toBe(143);
  });
});
