// TeamSync on its own, against the real sync server on loopback (SQLite): what it keeps where, the error codes of
// its refusals, and a team policy signed by one member that applies to another member's engine. The CLI-level
// attacks (a malicious server, forged files) are in apps/cli/test/sync-attacks.test.ts.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLast } from '@agentsecrets/audit';
import { parseInjectionObject } from '@agentsecrets/injection';
import { createMemoryStore, type SecretStore } from '@agentsecrets/keychain';
import { buildServer, openDatabase } from '@agentsecrets/server';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSecrets } from './agent-secrets.js';
import { initAgentSecrets } from './init.js';
import { createAgentSecrets } from './open.js';
import type { OwnerKey } from './owner.js';
import { RECHECK_MS } from './policy.js';

const CANARY = 'sk_live_TEAM_CANARY_7f6e5d4c3b2a';
const PASSPHRASE = 'correct horse battery staple';
const PASSWORD = 'team account password, long enough';

let dir: string;
let upstream: Upstream;
let server: { close(): Promise<unknown> };
let url: string;

interface Member {
  readonly core: AgentSecrets;
  readonly owner: OwnerKey;
  readonly home: string;
  readonly store: SecretStore;
}
let alice: Member;
let bob: Member;

async function member(name: string): Promise<Member> {
  const home = join(dir, name, 'home');
  const cwd = join(dir, name, 'app');
  const store = createMemoryStore();
  await initAgentSecrets({ home, cwd, passphrase: PASSPHRASE, keychain: 'memory' });
  const core = await createAgentSecrets({ home, cwd, store, env: { AGENTSECRETS_SERVER: url } });
  return { core, owner: await core.unlockOwner(PASSPHRASE), home, store };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'OK',
    (e: { code?: string }) => e.code ?? 'FOREIGN',
  );
}

async function allFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-team-'));
  upstream = await startUpstream();
  const app = await buildServer({ db: await openDatabase(join(dir, 'sync.db')), authRateLimit: 1000 });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  server = app;
  alice = await member('alice');
  bob = await member('bob');
}, 120_000);

afterAll(async () => {
  await alice?.core.close();
  await bob?.core.close();
  await server?.close();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('TeamSync', () => {
  it('keeps the session and trust in the vault: sync.json holds versions only, and no file holds a value or token', async () => {
    await alice.core.team.signup('alice@example.com', PASSWORD, alice.owner);
    expect(await codeOf(alice.core.team.push())).toBe('NOT_SET_UP');
    await alice.core.team.createWorkspace('team', alice.owner);
    await alice.core.setSecret('API_KEY', CANARY);
    expect(await alice.core.team.push()).toEqual({ pushed: ['API_KEY'], conflicts: [] });
    expect(await alice.core.team.diff()).toEqual({
      localOnly: [],
      remoteOnly: [],
      changed: [],
      same: ['API_KEY'],
    });
    const state = await alice.core.team.state();
    expect(state).toMatchObject({ server: url, email: 'alice@example.com', lastSync: expect.any(String) });
    const sync = JSON.parse(await readFile(join(alice.home, 'sync.json'), 'utf8'));
    expect(Object.keys(sync).sort()).toEqual(['lastSync', 'versions']);
    const session = await alice.store.get({ workspace: 'agentsecrets-sync', project: 'session' }, 'SESSION');
    const token = (JSON.parse(session!.text()) as { accessToken: string }).accessToken;
    for (const file of await allFiles(join(dir, 'alice'))) {
      const data = await readFile(file);
      for (const canary of [CANARY, PASSWORD, token]) expect(findLeaks(data, canary), file).toEqual([]);
    }
  }, 120_000);

  it('names its refusals: NOT_A_MEMBER for a workspace or member that is not there, REQUEST_REFUSED for a non-admin', async () => {
    await bob.core.team.signup('bob@example.com', PASSWORD, bob.owner);
    expect(await codeOf(bob.core.team.switchWorkspace('no-such-team', bob.owner))).toBe('NOT_A_MEMBER');
    expect(await codeOf(bob.core.team.pull())).toBe('NOT_SET_UP');
    expect(await codeOf(alice.core.team.setRole('nobody@example.com', 'admin', PASSWORD))).toBe(
      'NOT_A_MEMBER',
    );
  }, 120_000);

  it('a member admitted by fingerprint pulls by name, and the team policy an admin signs applies to its engine', async () => {
    await alice.core.team.invite('bob@example.com');
    const [accepted] = await bob.core.team.acceptInvites();
    expect(accepted?.workspaceName).toBe('team');
    const admitted = await alice.core.team.invite('bob@example.com', {
      fingerprint: accepted!.fingerprint,
      password: PASSWORD,
    });
    expect(admitted.admitted).toBe(true);
    const switched = await bob.core.team.switchWorkspace('team', bob.owner);
    expect(switched.pinnedNow).toBe(true);
    expect(await bob.core.team.pull()).toEqual({ pulled: ['API_KEY'] });
    expect((await bob.store.get(bob.core.namespace, 'API_KEY'))?.text()).toBe(CANARY);
    expect(await codeOf(bob.core.team.invite('eve@example.com'))).toBe('REQUEST_REFUSED');

    const call = () =>
      bob.core.fetch({
        url: `${upstream.origin}/echo`,
        injections: parseInjectionObject({ bearer: 'API_KEY' }),
        transport: 'cli',
      });
    expect(await codeOf(call())).toBe('DOMAIN_NOT_ALLOWED');
    // A wrong account password signs nothing.
    expect(await codeOf(alice.core.team.changeAllowlist('not the password', [upstream.origin], []))).not.toBe(
      'OK',
    );
    expect(await alice.core.team.changeAllowlist(PASSWORD, [upstream.origin], [])).toEqual([
      `http://127.0.0.1:${upstream.port}`,
    ]);
    expect(await bob.core.team.allowlistEntries()).toEqual([]);
    await bob.core.team.pull();
    expect(await bob.core.team.allowlistEntries()).toEqual([`http://127.0.0.1:${upstream.port}`]);
    await new Promise((r) => setTimeout(r, RECHECK_MS + 50));
    const res = await call();
    expect(res.status).toBe(200);
    expect(res.body.toString()).not.toContain(CANARY);
    expect(res.redacted).toBe(true);
  }, 180_000);

  it('audits a refusal that means tampering, by code', async () => {
    // A team policy the server rolls back: bob has accepted serial 1; the server now serves none.
    const db = await openDatabase(join(dir, 'sync.db'));
    await db.query('DELETE FROM policies');
    expect(await codeOf(bob.core.team.pull())).toBe('POLICY_ROLLBACK');
    await bob.core.close();
    const events = await readLast(bob.core.auditPath, 5);
    expect(events.map((e) => [e.status, e.reason])).toContainEqual(['BLOCKED', 'POLICY_ROLLBACK']);
  }, 120_000);
});
