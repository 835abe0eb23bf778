// A proxy kept running for the user with the file vault (what `service install` runs: `proxy start --locked`, no
// passphrase anywhere in its unit, argv or environment): locked, unlocked, locked again, on the built CLI with a real
// MCP client; the passphrase is searched for in every process's argv and environment; and the unlock channel is
// attacked as an agent would, with the session token and no passphrase.
import { readdir, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, filesUnder, freshMachine, run, transcript } from './helpers.js';
import { type ProxyProcess, startProxyProcess } from './proxy-process.js';

const PASSPHRASE = 'pp-CANARY-unlock-7f3a9c2e51d4';
const SECRET = 'sk_test_UNLOCK_canary_0123456789';

let upstream: Upstream;
let machine: Awaited<ReturnType<typeof freshMachine>>;
let proxy: ProxyProcess;
let mcp: Client;
/** The environment of everything after setup: no passphrase, as in a service and an agent's shell. */
let bare: NodeJS.ProcessEnv;
const opts = () => ({ env: bare, cwd: machine.project });

beforeAll(async () => {
  upstream = await startUpstream();
  machine = await freshMachine();
  machine.env.AGENTSECRETS_PASSPHRASE = PASSPHRASE;
  const setup = { env: machine.env, cwd: machine.project };
  for (const args of [
    ['init', '--yes'],
    ['allowlist', 'add', upstream.origin],
  ]) {
    const r = await run(args, setup);
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  }
  const set = await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...setup, input: SECRET });
  if (set.code !== 0) throw new Error(set.stderr);
  bare = { ...machine.env };
  delete bare.AGENTSECRETS_PASSPHRASE;
  proxy = await startProxyProcess({ env: bare, project: machine.project }, { args: ['--locked'] });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', 'serve'],
    env: bare as Record<string, string>,
    cwd: machine.project,
    stderr: 'pipe',
  });
  mcp = new Client({ name: 'unlock-test', version: '1.0.0' });
  await mcp.connect(transport);
});

afterAll(async () => {
  await mcp?.close();
  await proxy?.stop();
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

const call = () => run(['call', '--url', `${upstream.origin}/echo`, '--bearer', 'API_KEY'], opts());

async function mcpCall(): Promise<{ isError?: boolean; text: string }> {
  const res = (await mcp.callTool({
    name: 'api_call',
    arguments: { url: `${upstream.origin}/echo`, injections: { bearer: 'API_KEY' } },
  })) as { isError?: boolean; content: { text: string }[] };
  const text = res.content.map((c) => c.text).join('\n');
  transcript.push(text);
  return { ...(res.isError === undefined ? {} : { isError: res.isError }), text };
}

function raw(path: string, init: { method?: string; body?: string; token?: string | null } = {}) {
  const token = init.token === undefined ? proxy.token : init.token;
  return request(`http://127.0.0.1:${proxy.port}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    headers: {
      ...(token === null ? {} : { 'x-as-session-token': token }),
      'x-as-target-url': `${upstream.origin}/echo`,
      'x-as-inject-bearer': 'API_KEY',
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

async function expectLocked(): Promise<void> {
  const r = await call();
  expect(r.code).toBe(6);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^error VAULT_LOCKED: .* — type `agentsecrets unlock` in a terminal/);
  const m = await mcpCall();
  expect(m.isError).toBe(true);
  expect(m.text).toMatch(/^VAULT_LOCKED: .*`agentsecrets unlock`/);
  expect(m.text.split('\n')).toHaveLength(1);
  for (const [path, method] of [
    ['/proxy', 'POST'],
    ['/status', 'GET'],
    ['/secrets', 'GET'],
    ['/secrets/diff', 'GET'],
  ] as const) {
    const res = await raw(path, { method });
    const body = (await res.body.json()) as { error: { code: string; hint: string } };
    expect(res.statusCode).toBe(401);
    expect(body.error.code).toBe('VAULT_LOCKED');
    expect(body.error.hint).toContain('agentsecrets unlock');
  }
  const list = await mcp.callTool({ name: 'list_secrets', arguments: {} });
  expect(list.isError).toBe(true);
}

async function expectOpen(): Promise<void> {
  const before = upstream.requests.length;
  const r = await call();
  expect(r.code, r.stderr).toBe(0);
  expect(upstream.requests.length).toBe(before + 1);
  expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
  const m = await mcpCall();
  expect(m.isError, m.text).toBeFalsy();
}

/** Every process's argv and environment on this machine, for the leak search. */
async function everyProcess(): Promise<string> {
  const parts: string[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    for (const file of ['cmdline', 'environ']) {
      parts.push(await readFile(`/proc/${pid}/${file}`, 'latin1').catch(() => ''));
    }
  }
  return parts.join('\n');
}

describe('a proxy started locked with the file vault', () => {
  it('has no passphrase in its argv or environment, and says so in proxy status', async () => {
    const env = await readFile(`/proc/${proxy.child.pid}/environ`, 'latin1');
    expect(env).toContain('AGENTSECRETS_HOME=');
    expect(env).not.toContain('AGENTSECRETS_PASSPHRASE');
    expect(proxy.output()).toContain('vault locked: type `agentsecrets unlock`');
    const status = await run(['proxy', 'status'], opts());
    expect(status.stdout).toContain('vault locked');
    const vault = await raw('/vault');
    expect(await vault.body.json()).toEqual({ vault: 'locked' });
    const anonymous = await raw('/vault', { token: null });
    expect(anonymous.statusCode).toBe(401);
    await anonymous.body.dump();
  });

  it('answers call, every MCP tool and its routes with VAULT_LOCKED and what to type', async () => {
    await expectLocked();
    expect(upstream.requests).toHaveLength(0);
  });

  it('without a terminal, unlock says how to pipe the passphrase', async () => {
    const r = await run(['unlock'], opts());
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^error PASSPHRASE_REQUIRED: .*--stdin/);
  });

  it('unlock --stdin opens it: call and the MCP server connected while locked now work', async () => {
    const r = await run(['unlock', '--stdin'], { ...opts(), input: `${PASSPHRASE}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^unlocked: the proxy \(pid \d+\) has opened the vault/);
    await expectOpen();
    expect((await run(['unlock', '--stdin'], { ...opts(), input: 'anything' })).stdout).toContain(
      'open already',
    );
  });

  it('lock makes it forget the vault; unlock opens it again', async () => {
    const r = await run(['lock'], opts());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^locked: the proxy \(pid \d+\) has closed the vault/);
    await expectLocked();
    expect((await run(['lock'], opts())).stdout).toContain('locked already');
    const again = await run(['unlock', '--stdin'], { ...opts(), input: PASSPHRASE });
    expect(again.code, again.stderr).toBe(0);
    await expectOpen();
  });

  it('the passphrase is in no process argv or environment, no output, no file', async () => {
    expect(findLeaks(await everyProcess(), PASSPHRASE)).toEqual([]);
    expect(findLeaks(proxy.output(), PASSPHRASE)).toEqual([]);
    expect(findLeaks(transcript.join('\n'), PASSPHRASE)).toEqual([]);
    for (const file of await filesUnder(machine.env.AGENTSECRETS_HOME as string)) {
      expect(findLeaks(file.bytes, PASSPHRASE), file.path).toEqual([]);
    }
  });
});

describe('the unlock channel attacked with the session token and no passphrase', () => {
  it('needs the session token to unlock or lock', async () => {
    for (const path of ['/unlock', '/lock']) {
      const res = await raw(path, { method: 'POST', body: PASSPHRASE, token: null });
      expect(res.statusCode).toBe(401);
      expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
    // The attempt without a token did not lock it either.
    await expectOpen();
  });

  it('a guess against an open vault is not checked: no oracle, no lock-out', async () => {
    const res = await raw('/unlock', { method: 'POST', body: 'a wrong guess' });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ vault: 'open', changed: false });
    await expectOpen();
  });

  it('locked: guesses are checked one at a time and wrong ones slow the next; the owner still gets in', async () => {
    expect((await run(['lock'], opts())).code).toBe(0);
    // Ten guesses at once: one is checked (one Argon2id derivation), the rest are turned away unchecked.
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => raw('/unlock', { method: 'POST', body: `guess-${i}` })),
    );
    const codes = await Promise.all(
      answers.map(async (a) => ((await a.body.json()) as { error: { code: string } }).error.code),
    );
    expect(codes.filter((c) => c === 'PASSPHRASE_INCORRECT')).toHaveLength(1);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(9);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([401, ...Array(9).fill(429)]);
    // A second wrong guess starts the wait: the third is refused before it is checked.
    const second = await raw('/unlock', { method: 'POST', body: 'guess-b' });
    expect(((await second.body.json()) as { error: { code: string } }).error.code).toBe(
      'PASSPHRASE_INCORRECT',
    );
    const third = await raw('/unlock', { method: 'POST', body: PASSPHRASE });
    expect(third.statusCode).toBe(429);
    const refused = (await third.body.json()) as { error: { message: string } };
    expect(refused.error.message).toMatch(/next try is accepted in \d+ s/);
    await expectLocked();
    // The wait is bounded: after it, the owner's unlock works.
    await sleep(1_500);
    const owner = await run(['unlock', '--stdin'], { ...opts(), input: PASSPHRASE });
    expect(owner.code, owner.stderr).toBe(0);
    await expectOpen();
  });

  it('a body larger than any passphrase is refused unread', async () => {
    expect((await run(['lock'], opts())).code).toBe(0);
    const res = await raw('/unlock', { method: 'POST', body: 'x'.repeat(64 * 1024) });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
    expect(proxy.alive()).toBe(true);
    const owner = await run(['unlock', '--stdin'], { ...opts(), input: PASSPHRASE });
    expect(owner.code, owner.stderr).toBe(0);
  });
});
