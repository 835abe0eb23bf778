// Issue 8, item 5, against the built binaries: a rotation or deletion made by the CLI applies to the running proxy's
// next request; the CLI's proxy client sends header names like `constructor` as headers; the proxy does not keep the
// owner passphrase; scripts/start.sh leaves no process with the passphrase in its environment.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshMachine, run } from './helpers.js';

const PASSPHRASE = `heap-canary-passphrase-${randomBytes(8).toString('hex')}`;
const FIRST = `sk_live_FIRST_${randomBytes(8).toString('hex')}`;
const SECOND = `sk_live_SECOND_${randomBytes(8).toString('hex')}`;

let upstream: Upstream;
let machine: Awaited<ReturnType<typeof freshMachine>>;
let proxy: { url: string; pid: number; token: string };
const opts = () => ({ env: machine.env, cwd: machine.project });

async function viaProxy(inject: Record<string, string>, dispatcher?: Agent) {
  const res = await request(`${proxy.url}/proxy`, {
    headers: { 'x-as-session-token': proxy.token, 'x-as-target-url': `${upstream.origin}/echo`, ...inject },
    ...(dispatcher === undefined ? {} : { dispatcher }),
  });
  return { status: res.statusCode, body: await res.body.text() };
}

beforeAll(async () => {
  upstream = await startUpstream();
  machine = await freshMachine();
  machine.env.AGENTSECRETS_PASSPHRASE = PASSPHRASE;
  // A heap snapshot on SIGUSR2: what the proxy keeps in memory, as the test below reads it.
  machine.env.NODE_OPTIONS = '--heapsnapshot-signal=SIGUSR2';
  expect((await run(['init', '--yes'], opts())).code).toBe(0);
  expect((await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...opts(), input: FIRST })).code).toBe(0);
  expect(
    (await run(['secrets', 'set', 'OTHER_KEY', '--stdin'], { ...opts(), input: `other-${FIRST}` })).code,
  ).toBe(0);
  expect((await run(['allowlist', 'add', `http://127.0.0.1:${upstream.port}`], opts())).code).toBe(0);
  const start = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
  expect(start.code, start.stderr).toBe(0);
  const status = JSON.parse((await run(['proxy', 'status', '--json'], opts())).stdout);
  proxy = { url: status.url, pid: status.pid, token: (await run(['proxy', 'token'], opts())).stdout.trim() };
});

afterAll(async () => {
  await run(['proxy', 'stop'], opts()).catch(() => undefined);
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

describe('the running proxy and the CLI beside it', () => {
  it('a rotation by the CLI applies to the next request, redacted; a deletion too', async () => {
    upstream.requests.length = 0;
    expect((await viaProxy({ 'x-as-inject-bearer': 'API_KEY' })).status).toBe(200);
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${FIRST}`);

    expect((await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...opts(), input: SECOND })).code).toBe(0);
    const rotated = await viaProxy({ 'x-as-inject-bearer': 'API_KEY' });
    expect(rotated.status).toBe(200);
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${SECOND}`);
    expect(findLeaks(rotated.body, SECOND)).toEqual([]);
    expect(rotated.body).toContain('[REDACTED_BY_AGENTSECRETS]');

    expect((await run(['secrets', 'delete', 'API_KEY'], opts())).code).toBe(0);
    const before = upstream.requests.length;
    const deleted = await viaProxy({ 'x-as-inject-bearer': 'API_KEY' });
    expect(deleted.status).toBe(404);
    expect(JSON.parse(deleted.body).error.code).toBe('SECRET_NOT_FOUND');
    expect(upstream.requests.length).toBe(before);
  });

  it('a value given where a name belongs is not quoted in the answer nor recorded in the audit log', async () => {
    const pasted = `other-${FIRST}`; // OTHER_KEY's value, given as if it were a name
    const answers = [
      (await viaProxy({ 'x-as-inject-bearer': pasted })).body,
      // a style the name's policy would refuse, to a host not on the allowlist: still no rule quotes it
      (await viaProxy({ 'x-as-inject-query-k': pasted, 'x-as-target-url': 'https://example.com/' })).body,
    ];
    for (const args of [
      ['call', '--url', `${upstream.origin}/echo`, '--bearer', pasted],
      ['call', '--url', `${upstream.origin}/echo`, '--header', `X-Key=${pasted}`],
      ['env', '--only', pasted, '--', 'true'],
      ['secrets', 'delete', pasted],
    ]) {
      const r = await run(args, opts());
      expect(r.code, args.join(' ')).not.toBe(0);
      answers.push(r.stdout + r.stderr);
    }
    for (const answer of answers) {
      expect(answer).toContain('SECRET_NOT_FOUND');
      expect(findLeaks(answer, pasted)).toEqual([]);
    }
    const audit = await readFile(join(machine.env.AGENTSECRETS_HOME!, 'audit.jsonl'), 'utf8');
    expect(audit).toContain('SECRET_NOT_FOUND');
    expect(findLeaks(audit, pasted)).toEqual([]);
  });

  it('call through the proxy sends headers named like Object properties as given', async () => {
    upstream.requests.length = 0;
    const res = await run(
      [
        'call',
        '--url',
        `${upstream.origin}/echo`,
        '-H',
        'constructor: c-value',
        '-H',
        'toString: t-value',
        '-H',
        '__proto__: p-value',
        // Directives to the proxy are not the caller's to send as plain headers (locally they are dropped too).
        '-H',
        'X-AS-Inject-Header-X-Smuggled: OTHER_KEY',
      ],
      opts(),
    );
    expect(res.code, res.stderr).toBe(0);
    const raw = upstream.requests.at(-1)!.rawHeaders;
    const pairs = raw.flatMap((v, i) => (i % 2 === 0 ? [[v.toLowerCase(), raw[i + 1]!]] : []));
    expect(pairs).toContainEqual(['constructor', 'c-value']);
    expect(pairs).toContainEqual(['tostring', 't-value']);
    expect(pairs).toContainEqual(['__proto__', 'p-value']);
    expect(raw.join('\n')).not.toContain('native code');
    expect(pairs.filter(([n]) => n === 'x-smuggled' || n.startsWith('x-as-'))).toEqual([]);
  });

  it('the proxy keeps the opened vault, not the owner passphrase', async () => {
    const before = new Set(await readdir(machine.project));
    process.kill(proxy.pid, 'SIGUSR2');
    let snapshot: string | undefined;
    for (let waited = 0; waited < 60_000 && snapshot === undefined; waited += 200) {
      await sleep(200);
      snapshot = (await readdir(machine.project)).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    }
    expect(snapshot, 'no heap snapshot was written').toBeDefined();
    const path = join(machine.project, snapshot!);
    // The snapshot is written on the proxy's main thread: once it answers again (on a new connection: the pooled one
    // may have timed out meanwhile), the file is complete.
    let healthy = false;
    for (let tries = 0; tries < 100 && !healthy; tries += 1) {
      const agent = new Agent();
      healthy = await request(`${proxy.url}/health`, { dispatcher: agent }).then(
        async (r) => (await r.body.text()) !== '' && r.statusCode === 200,
        () => false,
      );
      await agent.close();
      if (!healthy) await sleep(300);
    }
    expect(healthy).toBe(true);
    expect((await stat(path)).size).toBeGreaterThan(1_000_000);
    const text = await readFile(path, 'utf8');
    await rm(path);
    expect(text).toContain('"nodes"');
    expect(text.includes(PASSPHRASE)).toBe(false);
    // It still serves: the vault it opened is enough.
    const fresh = new Agent();
    expect((await viaProxy({}, fresh)).status).toBe(200);
    await fresh.close();
  });
});

describe('scripts/start.sh', () => {
  const script = fileURLToPath(new URL('../../../scripts/start.sh', import.meta.url));

  /** Pids of processes whose environment holds `needle`. */
  async function environsHolding(needle: string): Promise<number[]> {
    const found: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const environ = await readFile(`/proc/${entry}/environ`).catch(() => undefined);
      if (environ?.includes(needle)) found.push(Number(entry));
    }
    return found;
  }

  it('leaves no process running with the owner passphrase in its environment', async () => {
    const root = join(machine.root, 'start');
    const passphrase = `start-sh-passphrase-${randomBytes(8).toString('hex')}`;
    const home = join(root, 'home', '.agentsecrets');
    const env = {
      PATH: process.env.PATH,
      HOME: join(root, 'home'),
      AGENTSECRETS_HOME: home,
      AGENTSECRETS_DEMO_DIR: join(root, 'demo'),
      AGENTSECRETS_KEYCHAIN: 'file',
      AGENTSECRETS_PASSPHRASE: passphrase,
      AGENTSECRETS_SKIP_SETUP: '1',
      AGENTSECRETS_PROXY_PORT: '0',
      NO_COLOR: '1',
    };
    const child = spawn('bash', [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const holding = await environsHolding(passphrase);
    // What start.sh left running (the proxy and the demo API), found by the home they were given.
    const left = await environsHolding(`AGENTSECRETS_HOME=${home}`);
    try {
      expect(code, output).toBe(0);
      expect(output).toContain('[REDACTED_BY_AGENTSECRETS]');
      expect(left.length, 'start.sh leaves the proxy and the demo API running').toBeGreaterThanOrEqual(2);
      expect(holding, 'processes with the passphrase in their environment').toEqual([]);
    } finally {
      await run(['proxy', 'stop'], { env: { ...env }, cwd: join(root, 'demo') }).catch(() => undefined);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone (the proxy stopped above)
        }
      }
    }
  });
});
