// `secrets diff` with a proxy holding the file vault (issue 13 §3), on the built CLI and proxy with a real sync server
// (better-sqlite3): the same answer as without a proxy, plain and --json, with no passphrase anywhere; and the proxy
// route behind it attacked as an agent would: without the session token, with a sandboxed run's token, while locked.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, openDatabase } from '@agentsecrets/server';
import { findLeaks } from '@agentsecrets/testkit';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshMachine, run, transcript } from './helpers.js';
import { type ProxyProcess, rawExchange, startProxyProcess } from './proxy-process.js';

const PASSPHRASE = 'pp-CANARY-teamdiff-5be1c07a93';
const VALUES = {
  SAME: 'sk_live_SAME_canary_7d1e0c55a2b94f',
  CHANGED: 'sk_live_CHANGED_canary_31af9e02d6c8',
  CHANGED_LOCALLY: 'sk_live_CHANGED_local_canary_c04b7a61e9f2',
  GONE: 'sk_live_GONE_canary_e5a8d3b1f07c26',
  LOCAL: 'sk_live_LOCAL_canary_9f62a4c81d3e07',
};
const DIFF = { localOnly: ['LOCAL'], remoteOnly: ['GONE'], changed: ['CHANGED'], same: ['SAME'] };

let server: Awaited<ReturnType<typeof buildServer>>;
let db: Awaited<ReturnType<typeof openDatabase>>;
let dir: string;
let machine: Awaited<ReturnType<typeof freshMachine>>;
let proxy: ProxyProcess;
/** What `secrets diff` printed without a proxy: the answer the proxy must give too. */
const without: { plain?: string; json?: string } = {};
/** The environment of an agent's shell: no passphrase, no account password. */
let bare: NodeJS.ProcessEnv;
const owner = (input?: string) => ({
  env: machine.env,
  cwd: machine.project,
  ...(input === undefined ? {} : { input }),
});
const agent = (input?: string) => ({
  env: bare,
  cwd: machine.project,
  ...(input === undefined ? {} : { input }),
});

async function ok(args: string[], options: ReturnType<typeof owner>): Promise<string> {
  const r = await run(args, options);
  if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The proxy's diff route, with the given request headers. */
async function diffRoute(headers: Record<string, string>) {
  const res = await request(`http://127.0.0.1:${proxy.port}/secrets/diff`, { headers });
  const text = await res.body.text();
  transcript.push(text);
  return { status: res.statusCode, text, headers: res.headers };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-team-diff-'));
  db = await openDatabase(join(dir, 'sync.db'));
  server = await buildServer({ db, authRateLimit: 1000 });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  machine = await freshMachine();
  machine.env.AGENTSECRETS_SERVER = url;
  machine.env.AGENTSECRETS_PASSPHRASE = PASSPHRASE;
  machine.env.AGENTSECRETS_SYNC_PASSWORD = 'team account password';
  await ok(['init', '--yes', '--project', 'app'], owner());
  await ok(['signup', 'dana@example.com'], owner());
  await ok(['workspace', 'create', 'team'], owner());
  for (const name of ['SAME', 'CHANGED', 'GONE'] as const)
    await ok(['secrets', 'set', name, '--stdin'], owner(VALUES[name]));
  expect(await ok(['secrets', 'push'], owner())).toContain('pushed CHANGED, GONE, SAME');
  await ok(['secrets', 'delete', 'GONE'], owner());
  await ok(['secrets', 'set', 'CHANGED', '--stdin'], owner(VALUES.CHANGED_LOCALLY));
  await ok(['secrets', 'set', 'LOCAL', '--stdin'], owner(VALUES.LOCAL));
  without.plain = await ok(['secrets', 'diff'], owner());
  without.json = await ok(['secrets', 'diff', '--json'], owner());
  expect(JSON.parse(without.json)).toEqual(DIFF);
  bare = { ...machine.env };
  delete bare.AGENTSECRETS_PASSPHRASE;
  delete bare.AGENTSECRETS_SYNC_PASSWORD;
  // Started with the passphrase, as `proxy start` at a terminal: the vault is open and can be locked.
  proxy = await startProxyProcess({ env: machine.env, project: machine.project });
});

afterAll(async () => {
  await proxy?.stop();
  await server?.close();
  await db?.close();
  const everything = [
    ...transcript,
    proxy?.output() ?? '',
    await readFile(join(machine.env.AGENTSECRETS_HOME as string, 'audit.jsonl'), 'utf8').catch(() => ''),
  ].join('\n');
  for (const value of [PASSPHRASE, ...Object.values(VALUES)])
    expect(findLeaks(everything, value)).toEqual([]);
  for (const d of [dir, machine?.root]) if (d !== undefined) await rm(d, { recursive: true, force: true });
});

describe('secrets diff with a proxy holding the vault', () => {
  it('answers as without a proxy, plain and --json, with no passphrase', async () => {
    const plain = await run(['secrets', 'diff'], agent());
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe(without.plain);
    expect(plain.stdout).toBe('local only: LOCAL\nremote only: GONE\nchanged: CHANGED\n');
    const json = await run(['secrets', 'diff', '--json'], agent());
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toBe(without.json);
  });

  it('its route needs the session token: a run token and no token get 401', async () => {
    const token = { 'x-as-session-token': proxy.token };
    const allowed = await diffRoute(token);
    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.text)).toEqual(DIFF);
    for (const headers of [{}, { 'x-as-session-token': 'not-the-token' }]) {
      const refused = await diffRoute(headers);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.text).error.code).toBe('UNAUTHORIZED');
    }
    // A sandboxed agent under `agentsecrets run` holds its run's token only.
    const registered = await request(`http://127.0.0.1:${proxy.port}/runs`, {
      method: 'POST',
      headers: { ...token, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'attacker' }),
    });
    expect(registered.statusCode).toBe(201);
    const grant = (await registered.body.json()) as { id: string; token: string };
    const basic = `Basic ${Buffer.from(`agentsecrets:${grant.token}`).toString('base64')}`;
    for (const authorization of [basic, `Bearer ${grant.token}`]) {
      const refused = await diffRoute({ 'proxy-authorization': authorization });
      expect(refused.status).toBe(401);
      expect(refused.text).not.toContain('CHANGED');
      // As a forward-proxy request for the proxy's own address, the way its HTTP_PROXY would send it.
      const forwarded = (
        await rawExchange(
          proxy.port,
          `GET http://127.0.0.1:${proxy.port}/secrets/diff HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nProxy-Authorization: ${authorization}\r\nConnection: close\r\n\r\n`,
        )
      ).toString('latin1');
      transcript.push(forwarded);
      expect(forwarded).toMatch(/^HTTP\/1\.1 (4|5)\d\d /);
      expect(forwarded).not.toContain('CHANGED');
    }
    const ended = await request(`http://127.0.0.1:${proxy.port}/runs/${grant.id}`, {
      method: 'DELETE',
      headers: token,
    });
    await ended.body.dump();
  });

  it('a locked proxy answers VAULT_LOCKED, with what to type', async () => {
    await ok(['lock'], agent());
    try {
      const locked = await run(['secrets', 'diff', '--json'], agent());
      expect(locked.code).toBe(6);
      expect(locked.stdout).toBe('');
      expect(locked.stderr.trim().split('\n')).toHaveLength(1);
      expect(locked.stderr).toMatch(/VAULT_LOCKED: .*`agentsecrets unlock`/);
      const raw = await diffRoute({ 'x-as-session-token': proxy.token });
      expect(raw.status).toBe(401);
      expect(JSON.parse(raw.text).error.code).toBe('VAULT_LOCKED');
    } finally {
      await ok(['unlock', '--stdin'], agent(PASSPHRASE));
    }
    const open = await run(['secrets', 'diff', '--json'], agent());
    expect(open.code, open.stderr).toBe(0);
    expect(open.stdout).toBe(without.json);
  });

  it('diffs asked at once after the access token expired leave the session usable', async () => {
    // The sync server runs in this process: moving its clock past the access token's 15 minutes makes every diff
    // refresh the session. Refreshes racing with one refresh token end the whole session (a reuse): the proxy, one
    // process serving every caller, must not race itself.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      vi.setSystemTime(Date.now() + 16 * 60_000);
      const token = { 'x-as-session-token': proxy.token };
      const answers = await Promise.all([1, 2, 3, 4].map(() => diffRoute(token)));
      for (const a of answers) {
        expect(a.status, a.text).toBe(200);
        expect(JSON.parse(a.text)).toEqual(DIFF);
      }
      const after = await run(['secrets', 'diff', '--json'], agent());
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout).toBe(without.json);
    } finally {
      vi.useRealTimers();
    }
  });
});
