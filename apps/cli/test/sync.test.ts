// Team sync end to end: the built CLI on two machines (two homes) of one account, through a real sync server.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, openDatabase } from '@agentsecrets/server';
import { createWorkspaceKey, encryptSecret, sealWorkspaceKey } from '@agentsecrets/sync';
import { findLeaks, startUpstream } from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshMachine, run } from './helpers.js';

const CANARY = 'sk_live_TEAM_CANARY_a1b2c3d4e5';
let server: Awaited<ReturnType<typeof buildServer>>;
let db: Awaited<ReturnType<typeof openDatabase>>;
let dir: string;
let laptop: Awaited<ReturnType<typeof freshMachine>>;
let desktop: Awaited<ReturnType<typeof freshMachine>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-team-'));
  db = await openDatabase(join(dir, 'sync.db'));
  // Every command of this file logs in from 127.0.0.1; the limit has tests of its own in the server.
  server = await buildServer({ db, authRateLimit: 1000 });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  laptop = await freshMachine();
  desktop = await freshMachine();
  for (const m of [laptop, desktop]) {
    m.env.AGENTSECRETS_SERVER = url;
    m.env.AGENTSECRETS_SYNC_PASSWORD = 'team account password';
  }
});

afterAll(async () => {
  await server.close();
  await db.close();
  for (const d of [dir, laptop.root, desktop.root]) await rm(d, { recursive: true, force: true });
});

describe('team sync through the CLI', () => {
  it('pushes from one machine and pulls on another; conflicts lose nothing', async () => {
    const on = (m: typeof laptop) => ({ env: m.env, cwd: m.project });
    expect((await run(['init', '--yes', '--project', 'app'], on(laptop))).code).toBe(0);
    expect((await run(['init', '--yes', '--project', 'app'], on(desktop))).code).toBe(0);
    const signup = await run(['signup', 'frank@example.com'], on(laptop));
    expect(signup.code, signup.stderr).toBe(0);
    expect((await run(['workspace', 'create', 'team'], on(laptop))).code).toBe(0);
    await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...on(laptop), input: CANARY });
    const push = await run(['secrets', 'push'], on(laptop));
    expect(push.stdout).toContain('pushed API_KEY');

    expect((await run(['login', 'frank@example.com'], on(desktop))).code).toBe(0);
    expect((await run(['workspace', 'switch', 'team'], on(desktop))).code).toBe(0);
    expect(JSON.parse((await run(['secrets', 'diff', '--json'], on(desktop))).stdout)).toMatchObject({
      remoteOnly: ['API_KEY'],
    });
    expect((await run(['secrets', 'pull'], on(desktop))).stdout).toContain('pulled API_KEY');
    expect(JSON.parse((await run(['secrets', 'diff', '--json'], on(desktop))).stdout)).toMatchObject({
      same: ['API_KEY'],
    });
    expect(JSON.parse((await run(['status', '--json'], on(laptop))).stdout).lastSync).toMatch(/^20\d\d-/);

    // Both change the value; the laptop pushes first; the desktop's push is a conflict and overwrites nothing.
    await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...on(laptop), input: `${CANARY}-laptop` });
    await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...on(desktop), input: `${CANARY}-desktop` });
    expect((await run(['secrets', 'push'], on(laptop))).stdout).toContain('pushed API_KEY');
    const stale = await run(['secrets', 'push'], on(desktop));
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('conflict: API_KEY');
    expect(JSON.parse((await run(['secrets', 'diff', '--json'], on(desktop))).stdout)).toMatchObject({
      changed: ['API_KEY'],
    });
    expect((await run(['secrets', 'diff'], on(laptop))).stdout).toContain('in sync');
    const dump =
      JSON.stringify(await db.query('SELECT * FROM secrets')) +
      JSON.stringify(await db.query('SELECT * FROM users'));
    expect(findLeaks(dump, CANARY)).toEqual([]);
    expect(findLeaks(dump, 'team account password')).toEqual([]);
    expect((await run(['logout'], on(desktop))).code).toBe(0);
    expect((await run(['secrets', 'diff'], on(desktop))).code).toBe(6);
  });

  it('a team of two: invite, fingerprint checked out of band, admit, pull, roles, removal', async () => {
    const bob = await freshMachine();
    bob.env.AGENTSECRETS_SERVER = laptop.env.AGENTSECRETS_SERVER;
    bob.env.AGENTSECRETS_SYNC_PASSWORD = 'bob has his own password';
    const as = (m: typeof laptop) => ({ env: m.env, cwd: m.project });
    try {
      expect((await run(['init', '--yes', '--project', 'app'], as(bob))).code).toBe(0);
      expect((await run(['signup', 'bob@example.com'], as(bob))).code).toBe(0);
      const invited = await run(['workspace', 'invite', 'bob@example.com'], as(laptop));
      expect(invited.stdout, invited.stderr).toContain('invited bob@example.com');
      const accept = await run(['workspace', 'list', '--json'], as(bob));
      const fingerprint = /fingerprint, ([0-9a-f ]+)/.exec(accept.stderr)?.[1]?.trim();
      expect(fingerprint).toMatch(/^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);
      expect(JSON.parse(accept.stdout)).toEqual([]);
      const shown = await run(['workspace', 'invite', 'bob@example.com'], as(laptop));
      expect(shown.stdout).toContain(fingerprint!);
      const wrong = await run(
        [
          'workspace',
          'invite',
          'bob@example.com',
          '--fingerprint',
          '0000 0000 0000 0000 0000 0000 0000 0000',
        ],
        as(laptop),
      );
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('does not have that fingerprint');
      expect(
        (await run(['workspace', 'invite', 'bob@example.com', '--fingerprint', fingerprint!], as(laptop)))
          .code,
      ).toBe(0);
      expect((await run(['workspace', 'switch', 'team'], as(bob))).code).toBe(0);
      expect((await run(['secrets', 'pull'], as(bob))).stdout).toContain('pulled API_KEY');
      // Team policy: an admin allows a destination for everyone; members' engines accept it only signed by a
      // pinned admin key.
      const upstream = await startUpstream();
      try {
        const dest = `http://127.0.0.1:${upstream.port}`;
        expect((await run(['allowlist', 'add', dest, '--team'], as(laptop))).code).toBe(0);
        const call = ['call', '--url', `${dest}/echo`, '--bearer', 'API_KEY'];
        expect((await run(call, as(bob))).code).toBe(3);
        expect((await run(['secrets', 'pull'], as(bob))).code).toBe(0);
        const listed = JSON.parse((await run(['allowlist', 'list', '--json'], as(bob))).stdout);
        expect(listed).toContainEqual({ entry: dest, source: 'team' });
        const ok = await run(call, as(bob));
        expect(ok.code, ok.stderr).toBe(0);
        expect(ok.stdout).toContain('[REDACTED_BY_AGENTSECRETS]');
        expect((await run(['allowlist', 'add', 'evil.example', '--team'], as(bob))).code).toBe(3);
        // A team binding narrows where the secret may go, for every member.
        expect(
          (
            await run(
              ['secrets', 'bind', 'API_KEY', `127.0.0.1:${upstream.port}/only-here`, '--team'],
              as(laptop),
            )
          ).code,
        ).toBe(0);
        expect((await run(['secrets', 'pull'], as(bob))).code).toBe(0);
        const bound = await run(call, as(bob));
        expect(bound.code).toBe(3);
        expect(bound.stderr).toContain('BINDING_VIOLATION');
        // A server that widens the stored policy is refused at pull…
        const stored = (await db.query<{ body: string }>('SELECT body FROM policies'))[0]!;
        const widened = { ...JSON.parse(stored.body), serial: 99, allowlist: [dest, 'evil.example'] };
        await db.query('UPDATE policies SET body = $1, serial = 99', [JSON.stringify(widened)]);
        const refused = await run(['secrets', 'pull'], as(bob));
        expect(refused.code).toBe(3);
        expect(refused.stderr).toContain('POLICY_SIGNATURE_INVALID');
        await db.query('UPDATE policies SET body = $1, serial = $2', [
          stored.body,
          JSON.parse(stored.body).serial,
        ]);
        // …and the accepted policy lives in bob's vault: the widened copy in a hand-edited sync.json is not read.
        const syncFile = join(bob.env.AGENTSECRETS_HOME!, 'sync.json');
        const state = JSON.parse(await readFile(syncFile, 'utf8'));
        await writeFile(syncFile, JSON.stringify({ ...state, policies: { any: widened } }));
        const edited = await run(['call', '--url', 'https://evil.example/x', '--bearer', 'API_KEY'], as(bob));
        expect(edited.code).toBe(3);
        expect(edited.stderr).toContain('DOMAIN_NOT_ALLOWED');
      } finally {
        await upstream.close();
      }

      const members = JSON.parse((await run(['workspace', 'members', '--json'], as(bob))).stdout);
      expect(members.map((m: { email: string; role: string }) => `${m.email}:${m.role}`).sort()).toEqual([
        'bob@example.com:member',
        'frank@example.com:admin',
      ]);
      const notAdmin = await run(['workspace', 'invite', 'eve@example.com'], as(bob));
      expect(notAdmin.code, notAdmin.stderr).toBe(3);
      expect((await run(['workspace', 'demote', 'frank@example.com'], as(laptop))).code).toBe(2);
      expect((await run(['workspace', 'promote', 'bob@example.com'], as(laptop))).code).toBe(0);
      expect((await run(['workspace', 'demote', 'bob@example.com'], as(laptop))).code).toBe(0);
      // Removing a member signs a roster without them that asks for a new key, and rotates at once: every secret
      // re-encrypted under a key granted only to the members left.
      expect((await run(['workspace', 'remove', 'bob@example.com'], as(laptop))).stdout).toContain(
        'the workspace key was rotated',
      );
      expect(JSON.parse((await run(['workspace', 'list', '--json'], as(laptop))).stdout)[0]).toMatchObject({
        rotationPending: false,
        verified: true,
      });
      const status = JSON.parse((await run(['status', '--json'], as(laptop))).stdout);
      expect(status.team).toMatchObject({
        email: 'frank@example.com',
        workspace: 'team',
        rotationPending: false,
      });
      expect((await run(['secrets', 'pull'], as(bob))).code).toBe(4);
      expect((await run(['secrets', 'diff'], as(laptop))).stdout).toContain('in sync');
      const rotated = await db.query<{ key_version: number }>('SELECT key_version FROM workspaces');
      expect(rotated.map((r) => Number(r.key_version))).toEqual([2]);
      expect((await run(['secrets', 'pull'], as(laptop))).stdout).toContain('already up to date');
    } finally {
      await rm(bob.root, { recursive: true, force: true });
    }
  });
  it('a workspace made before signed rosters is refused until an admin upgrades it', async () => {
    const on = (m: typeof laptop) => ({ env: m.env, cwd: m.project });
    // What an older server and client left behind: a key sealed to its admin with no grant and no roster.
    const frank = (
      await db.query<{ id: string; box_public_key: string }>(
        'SELECT id, box_public_key FROM users WHERE email = $1',
        ['frank@example.com'],
      )
    )[0]!;
    const ws = 'ws_legacy_00000000000001';
    const key = createWorkspaceKey();
    await db.query(
      'INSERT INTO workspaces (id, name, key_version, rotation_pending, created_at) VALUES ($1, $2, 1, 0, $3)',
      [ws, 'legacy', Date.now()],
    );
    await db.query(
      'INSERT INTO members (workspace_id, user_id, role, sealed_key, key_version) VALUES ($1, $2, $3, $4, 1)',
      [
        ws,
        frank.id,
        'admin',
        await sealWorkspaceKey(key, frank.box_public_key, { workspaceId: ws, keyVersion: 1 }),
      ],
    );
    const coords = {
      workspaceId: ws,
      projectId: 'app',
      environment: 'default',
      name: 'OLD_KEY',
      version: 1,
      keyVersion: 1,
    };
    await db.query(
      `INSERT INTO secrets (workspace_id, project_id, environment, name, version, ciphertext, key_version, author, created_at)
       VALUES ($1, 'app', 'default', 'OLD_KEY', 1, $2, 1, $3, $4)`,
      [ws, encryptSecret(key, `${CANARY}-old`, coords), frank.id, Date.now()],
    );
    const refused = await run(['workspace', 'switch', 'legacy'], on(laptop));
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('ROSTER_INVALID');
    expect(refused.stderr).toContain('workspace upgrade legacy');
    const upgraded = await run(['workspace', 'upgrade', 'legacy'], on(laptop));
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const [row] = await db.query<{ key_version: number }>(
      'SELECT key_version FROM workspaces WHERE id = $1',
      [ws],
    );
    expect(Number(row!.key_version)).toBe(2);
    // Selected now, its secret re-encrypted under a key granted by a signed roster.
    expect((await run(['secrets', 'pull'], on(laptop))).stdout).toContain('pulled OLD_KEY');
    const stored = JSON.stringify(await db.query('SELECT * FROM secrets WHERE workspace_id = $1', [ws]));
    expect(findLeaks(stored, CANARY)).toEqual([]);
  });
});
