// Team sync against a malicious server: the built CLI of two teammates talks to a real sync server (SQLite and
// PostgreSQL) through a man in the middle that plays the compromised server — it reads every request and rewrites
// every answer. Whatever it does, it must not end up with a value.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, openDatabase } from '@agentsecrets/server';
import {
  createUserKeys,
  createWorkspaceKey,
  decryptSecret,
  openWorkspaceKey,
  sealWorkspaceKey,
  type UserKeys,
} from '@agentsecrets/sync';
import { type Exchange, findLeaks, type Mitm, startMitm } from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freshMachine, type RunResult, run } from './helpers.js';

const TEAM_VALUE = 'sk_live_TEAM_VALUE_CANARY_77aa88bb';
const BOB_VALUE = 'ghp_BOB_LOCAL_CANARY_0123456789abcdef';
const PASSWORDS = { alice: 'alice account password', bob: 'bob account password' };

const pgUrl = process.env.TEST_DATABASE_URL;
const engines: [string, string | undefined][] = [
  ['sqlite', 'sqlite'],
  ['postgres', pgUrl ?? (process.env.CI ? 'postgres://missing-TEST_DATABASE_URL/' : undefined)],
];

/** A database of its own for this file, so other test files cleaning theirs cannot touch it. */
async function freshLocation(engine: string, dir: string): Promise<string> {
  if (engine === 'sqlite') return join(dir, 'sync.db');
  const admin = await openDatabase(pgUrl!);
  const name = `as_attacks_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = new URL(pgUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Every JSON object inside `value`, with the nearest workspace id and key version around it. */
function* objects(
  value: unknown,
  ctx: { ws?: string; kv?: number } = {},
): Generator<[Record<string, unknown>, { ws?: string; kv?: number }]> {
  if (Array.isArray(value)) {
    for (const v of value) yield* objects(v, ctx);
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const here = {
      ws: typeof o.workspaceId === 'string' ? o.workspaceId : typeof o.id === 'string' ? o.id : ctx.ws,
      kv: typeof o.keyVersion === 'number' ? o.keyVersion : ctx.kv,
    };
    yield [o, here];
    for (const v of Object.values(o)) yield* objects(v, here);
  }
}

function jsonOf(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * What the attacker can read with keys of its own: every ciphertext any client sent, tried under `keys` (and under
 * any workspace key a client sealed to the attacker's box key) at the coordinates the request itself names.
 */
async function recovered(exchanges: readonly Exchange[], keys: Buffer[], box: UserKeys): Promise<string[]> {
  const candidates = [...keys];
  for (const ex of exchanges) {
    const ws = /^\/v1\/workspaces\/([^/]+)/.exec(ex.path)?.[1];
    for (const [o, at] of objects(jsonOf(ex.requestBody), ws === undefined ? {} : { ws })) {
      if (typeof o.sealedKey === 'string' && at.ws !== undefined && at.kv !== undefined) {
        const opened = await openWorkspaceKey(o.sealedKey, box.box, { workspaceId: at.ws, keyVersion: at.kv })
          // A box sealed to someone else does not open: that is the point.
          .catch(() => undefined);
        if (opened !== undefined) candidates.push(opened);
      }
    }
  }
  const out: string[] = [];
  for (const ex of exchanges) {
    const path = /^\/v1\/workspaces\/([^/]+)(?:\/secrets\/([^/]+)\/([^/]+)(?:\/([^/?]+))?)?/.exec(ex.path);
    if (path === null) continue;
    const body = jsonOf(ex.requestBody);
    for (const [o, at] of objects(body)) {
      if (typeof o.ciphertext !== 'string') continue;
      const coords = {
        workspaceId: path[1]!,
        projectId: (o.projectId as string | undefined) ?? path[2] ?? '',
        environment: (o.environment as string | undefined) ?? path[3] ?? '',
        name: (o.name as string | undefined) ?? decodeURIComponent(path[4] ?? ''),
        version: Number(o.version),
        keyVersion: Number(o.keyVersion ?? at.kv ?? (body as { keyVersion?: number }).keyVersion),
      };
      for (const key of candidates) {
        try {
          out.push(decryptSecret(key, o.ciphertext, coords).toString('utf8'));
        } catch {
          // not under this key
        }
      }
    }
  }
  return out;
}

for (const [engine, location] of engines) {
  describe.skipIf(location === undefined)(`team sync against a malicious server (${engine})`, () => {
    let dir: string;
    let db: Awaited<ReturnType<typeof openDatabase>>;
    let server: Awaited<ReturnType<typeof buildServer>>;
    let mitm: Mitm;
    let alice: Awaited<ReturnType<typeof freshMachine>>;
    let bob: Awaited<ReturnType<typeof freshMachine>>;
    let attacker: UserKeys;
    const as = (m: typeof alice) => ({ env: m.env, cwd: m.project });
    const userId = async (email: string) =>
      (await db.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]))[0]!.id;
    const tokenOf = (token: string | undefined) => token?.split('.')[1];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'as-attacks-'));
      db = await openDatabase(await freshLocation(engine, dir));
      server = await buildServer({ db, authRateLimit: 1000 });
      mitm = await startMitm(await server.listen({ port: 0, host: '127.0.0.1' }));
      attacker = await createUserKeys();
      alice = await freshMachine();
      bob = await freshMachine();
      for (const [m, pw] of [
        [alice, PASSWORDS.alice],
        [bob, PASSWORDS.bob],
      ] as const) {
        m.env.AGENTSECRETS_SERVER = mitm.url;
        m.env.AGENTSECRETS_SYNC_PASSWORD = pw;
        expect((await run(['init', '--yes', '--project', 'app'], as(m))).code).toBe(0);
      }
      expect((await run(['signup', 'alice@example.com'], as(alice))).code).toBe(0);
      expect((await run(['workspace', 'create', 'team'], as(alice))).code).toBe(0);
      await run(['secrets', 'set', 'TEAM_KEY', '--stdin'], { ...as(alice), input: TEAM_VALUE });
      expect((await run(['secrets', 'push'], as(alice))).stdout).toContain('pushed TEAM_KEY');
      expect((await run(['signup', 'bob@example.com'], as(bob))).code).toBe(0);
      expect((await run(['workspace', 'invite', 'bob@example.com'], as(alice))).code).toBe(0);
      const accept = await run(['workspace', 'list'], as(bob));
      const fingerprint = /fingerprint, ([0-9a-f ]+)/.exec(accept.stderr)?.[1]?.trim();
      const admit = await run(
        ['workspace', 'invite', 'bob@example.com', '--fingerprint', fingerprint!],
        as(alice),
      );
      expect(admit.code, admit.stderr).toBe(0);
      expect((await run(['workspace', 'switch', 'team'], as(bob))).code).toBe(0);
      expect((await run(['secrets', 'pull'], as(bob))).stdout).toContain('pulled TEAM_KEY');
    });

    afterAll(async () => {
      await mitm?.close();
      await server?.close();
      await db?.close();
      for (const d of [dir, alice?.root, bob?.root]) if (d) await rm(d, { recursive: true, force: true });
    });

    it('a member never encrypts under a workspace key the server chose', async () => {
      const bobId = await userId('bob@example.com');
      const bobBox = (
        await db.query<{ box_public_key: string }>('SELECT box_public_key FROM users WHERE id = $1', [bobId])
      )[0]!.box_public_key;
      const evilKey = createWorkspaceKey();
      const from = mitm.exchanges.length;
      // The server seals a key of its own to bob's public key, and lists no secrets so that bob pushes them all.
      mitm.intercept = (req) => {
        if (tokenOf(req.token) !== bobId) return { kind: 'forward' };
        if (req.method === 'GET' && req.path === '/v1/workspaces') {
          return {
            kind: 'forward',
            rewrite: (_status, body) => {
              const swap: Promise<void>[] = [];
              for (const [o, at] of objects(body)) {
                if (typeof o.sealedKey === 'string' && at.ws !== undefined && at.kv !== undefined) {
                  swap.push(
                    sealWorkspaceKey(evilKey, bobBox, { workspaceId: at.ws, keyVersion: at.kv }).then((s) => {
                      o.sealedKey = s;
                    }),
                  );
                }
              }
              return Promise.all(swap).then(() => body);
            },
          };
        }
        if (req.method === 'GET' && /^\/v1\/workspaces\/[^/]+\/secrets\/[^/]+\/[^/]+$/.test(req.path))
          return { kind: 'respond', status: 200, body: [] };
        return { kind: 'forward' };
      };
      try {
        await run(['secrets', 'set', 'BOB_KEY', '--stdin'], { ...as(bob), input: BOB_VALUE });
        const push = await run(['secrets', 'push'], as(bob));
        const got = await recovered(mitm.exchanges.slice(from), [evilKey], attacker);
        expect(got, 'the server decrypted what bob pushed').toEqual([]);
        expect(push.code).toBe(3);
        expect(push.stderr).toContain('KEY_GRANT_INVALID');
        // Nothing was encrypted at all: no write reached the server.
        expect(
          mitm.exchanges.slice(from).filter((e) => e.method !== 'GET' && e.path.includes('/secrets')),
        ).toEqual([]);
        const audit = await readFile(join(bob.env.AGENTSECRETS_HOME!, 'audit.jsonl'), 'utf8');
        expect(audit).toContain('KEY_GRANT_INVALID');
      } finally {
        mitm.intercept = () => ({ kind: 'forward' });
      }
      // With the server honest again, bob's push goes through under the real key.
      const again = await run(['secrets', 'push'], as(bob));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('pushed BOB_KEY');
    });

    it('a rotation seals the new key only to members the admins admitted, and only when they asked', async () => {
      const aliceId = await userId('alice@example.com');
      const fake = {
        userId: 'usr_mallory0123456789abcdef',
        email: 'mallory@example.com',
        role: 'member',
        boxPublicKey: Buffer.from(attacker.box.publicKey).toString('base64'),
        signingPublicKey: Buffer.from(attacker.signing.publicKey).toString('base64'),
      };
      const from = mitm.exchanges.length;
      // The server asks alice for a rotation nobody requested; later it also lists a member of its own wherever
      // members appear.
      let inject = false;
      mitm.intercept = (req) => {
        if (tokenOf(req.token) !== aliceId || req.method !== 'GET') return { kind: 'forward' };
        return {
          kind: 'forward',
          rewrite: (_status, body) => {
            const lists: unknown[][] = Array.isArray(body) ? [body] : [];
            for (const [o] of objects(body)) {
              if ('rotationPending' in o) o.rotationPending = true;
              for (const v of Object.values(o)) if (Array.isArray(v)) lists.push(v);
            }
            for (const list of inject ? lists : []) {
              if (list.some((m) => m !== null && typeof m === 'object' && 'boxPublicKey' in m))
                list.push({ ...fake });
            }
            return body;
          },
        };
      };
      try {
        const diff = await run(['secrets', 'diff'], as(alice));
        expect(mitm.exchanges.slice(from).some((e) => e.path.endsWith('/rotate'))).toBe(false);
        expect(diff.code, diff.stderr).toBe(0);
        const audit = await readFile(join(alice.env.AGENTSECRETS_HOME!, 'audit.jsonl'), 'utf8');
        expect(audit).toContain('ROTATION_UNSIGNED');
        // A real removal while the server lists a member of its own: the rotation must not seal to it.
        inject = true;
        const removed = await run(['workspace', 'remove', 'bob@example.com'], as(alice));
        await run(['secrets', 'diff'], as(alice));
        expect(await recovered(mitm.exchanges.slice(from), [], attacker)).toEqual([]);
        expect(removed.code).toBe(3);
        expect(removed.stderr).toContain('ROSTER_INVALID');
      } finally {
        mitm.intercept = () => ({ kind: 'forward' });
      }
      const honest = mitm.exchanges.length;
      const removed = await run(['workspace', 'remove', 'bob@example.com'], as(alice));
      expect(removed.code, removed.stderr).toBe(0);
      const rotations = mitm.exchanges.slice(honest).filter((e) => e.path.endsWith('/rotate'));
      expect(rotations.map((e) => e.status)).toEqual([204]);
      // Sealed to alice alone: the roster the admins signed.
      const sealedTo = [...objects(jsonOf(rotations[0]!.requestBody))].filter(
        ([o]) => typeof o.sealedKey === 'string',
      );
      expect(sealedTo.length).toBe(1);
      expect((await run(['secrets', 'pull'], as(bob))).code).toBe(4);
      const stored = JSON.stringify(await db.query('SELECT * FROM secrets'));
      expect(findLeaks(stored, TEAM_VALUE)).toEqual([]);
      expect(findLeaks(stored, BOB_VALUE)).toEqual([]);
    });

    it('a push is applied all or nothing, even when the client dies mid-way', async () => {
      const lines = Array.from({ length: 1000 }, (_, i) => `BULK_${i}=bulk-value-${i}-${'x'.repeat(24)}`);
      await writeFile(join(alice.project, 'bulk.env'), `${lines.join('\n')}\n`);
      // 1,000 keychain writes: on a loaded machine this takes longer than run()'s default 30 s.
      const imported = await run(['secrets', 'import', 'bulk.env'], { ...as(alice), timeoutMs: 240_000 });
      expect(imported.code, imported.stderr).toBe(0);
      let writes = 0;
      let killed!: () => void;
      const dead = new Promise<void>((r) => {
        killed = r;
      });
      let cut = false;
      mitm.intercept = (req) => {
        if (req.method === 'GET' || !req.path.includes('/secrets/')) return { kind: 'forward' };
        // The CLI dies when a third of its push is on the way to the server: 300 one-by-one writes, or a third of
        // the bytes of one that carries them all.
        const all = Array.isArray((req.json() as { secrets?: unknown } | undefined)?.secrets);
        writes += 1;
        if (!cut && (all || writes === 300)) {
          cut = true;
          return { kind: 'truncate', bytes: Math.floor(req.body.length / 3), until: dead };
        }
        return cut ? { kind: 'respond', status: 502, body: {} } : { kind: 'forward' };
      };
      try {
        const child = spawn(process.execPath, [BIN, 'secrets', 'push'], {
          env: alice.env,
          cwd: alice.project,
          stdio: 'ignore',
        });
        const exited = new Promise((r) => child.on('close', r));
        while (!cut) await new Promise((r) => setTimeout(r, 20));
        child.kill('SIGKILL');
        await exited;
        killed();
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        mitm.intercept = () => ({ kind: 'forward' });
      }
      const count = async () =>
        Number(
          (
            await db.query<{ n: number }>(
              `SELECT COUNT(DISTINCT name) AS n FROM secrets WHERE name LIKE 'BULK_%'`,
            )
          )[0]!.n,
        );
      expect([0, 1000]).toContain(await count());
      const retry: RunResult = await run(['secrets', 'push'], { ...as(alice), timeoutMs: 120_000 });
      expect(retry.code, retry.stderr).toBe(0);
      expect(await count()).toBe(1000);
    }, 400_000);
  });
}
