import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomId } from '@agentsecrets/crypto';
import {
  createUserKeys,
  createWorkspaceKey,
  decryptSecret,
  deriveAccountKeys,
  encryptSecret,
  type KdfOffer,
  newKdfOffer,
  openUserKeys,
  openWorkspaceKey,
  type RosterMember,
  type SecretCoordinates,
  sealUserKeys,
  sealWorkspaceKey,
  signGrant,
  signRoster,
  type UserKeys,
} from '@agentsecrets/sync';
import { findLeaks } from '@agentsecrets/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './app.js';
import type { Db } from './db/db.js';
import { openDatabase } from './open.js';

const FAST = { memoryKiB: 19456, iterations: 2, parallelism: 1 };
const PASSWORD = 'canary-PASSWORD-9f8e7d';
const VALUE = 'sk_live_SYNC_CANARY_00112233';

const pgUrl = process.env.TEST_DATABASE_URL;
// PostgreSQL runs wherever a server is given (CI starts one); without one, locally, that half is skipped — in CI
// the absence is a failure.
const engines: [string, (dir: string) => string | undefined][] = [
  ['sqlite', (dir) => join(dir, 'sync.db')],
  ['postgres', () => pgUrl ?? (process.env.CI ? 'postgres://missing-TEST_DATABASE_URL/' : undefined)],
];

for (const [engine, locate] of engines) {
  const location = locate('/tmp');
  describe.skipIf(location === undefined)(`sync server on ${engine}`, () => {
    let dir: string;
    let db: Db;
    let app: FastifyInstance;
    let second: FastifyInstance;
    const logs: string[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'as-server-'));
      db = await openDatabase(engine === 'sqlite' ? join(dir, 'sync.db') : location!);
      if (engine === 'postgres') {
        for (const t of [
          'secrets',
          'members',
          'rosters',
          'invites',
          'policies',
          'workspaces',
          'refresh_tokens',
          'refresh_families',
          'rate_limits',
          'users',
        ])
          await db.query(`DELETE FROM ${t}`);
      }
      const stream = new Writable({
        write(chunk, _e, cb) {
          logs.push(String(chunk));
          cb();
        },
      });
      app = await buildServer({ db, logger: { stream }, authRateLimit: 50 });
      // A second instance on the same database: nothing the API needs lives in one instance's memory.
      second = await buildServer({ db, authRateLimit: 50 });
    });

    afterAll(async () => {
      await app?.close();
      await second?.close();
      await db?.close();
      await rm(dir, { recursive: true, force: true });
    });

    async function call(
      method: 'GET' | 'POST' | 'PUT',
      url: string,
      body?: unknown,
      token?: string,
      via = app,
    ) {
      const res = await via.inject({
        method,
        url,
        ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body) };
    }

    async function signupAndLogin(email: string) {
      const offer = newKdfOffer(FAST);
      const account = await deriveAccountKeys(PASSWORD, offer);
      const keys = await createUserKeys();
      const userId = randomId('usr');
      const sealed = sealUserKeys(keys, account.encKey, userId);
      const signup = await call('POST', '/v1/auth/signup', {
        userId,
        email,
        authKey: account.authKey.toString('base64'),
        kdf: offer,
        keys: sealed,
      });
      expect(signup.status).toBe(202);
      const pre = await call('POST', '/v1/auth/prelogin', { email });
      const again = await deriveAccountKeys(PASSWORD, pre.body as KdfOffer);
      const login = await call('POST', '/v1/auth/login', {
        email,
        authKey: again.authKey.toString('base64'),
      });
      expect(login.status).toBe(200);
      const opened = openUserKeys(login.body.keys, again.encKey, login.body.userId);
      return { ...login.body, email, userKeys: opened } as {
        accessToken: string;
        refreshToken: string;
        userId: string;
        email: string;
        userKeys: typeof opened;
      };
    }

    /** A workspace as a client makes it: a first roster listing its creator, and the key granted to them. */
    async function createWorkspace(
      s: { userId: string; email: string; accessToken: string; userKeys: UserKeys },
      key = createWorkspaceKey(),
      id = randomId('ws'),
    ) {
      const me: RosterMember = {
        userId: s.userId,
        email: s.email,
        role: 'admin',
        boxPublicKey: Buffer.from(s.userKeys.box.publicKey).toString('base64'),
        signingPublicKey: Buffer.from(s.userKeys.signing.publicKey).toString('base64'),
      };
      const roster = signRoster(
        { workspaceId: id, serial: 1, prev: null, keyVersion: 1, members: [me] },
        s.userKeys.signing,
      );
      const sealedKey = await sealWorkspaceKey(key, me.boxPublicKey, { workspaceId: id, keyVersion: 1 });
      const grant = signGrant(
        { workspaceId: id, keyVersion: 1, rosterSerial: 1, recipient: me.userId, sealedKey },
        me,
        s.userKeys.signing,
      );
      const res = await call('POST', '/v1/workspaces', { id, name: 'team', roster, grant }, s.accessToken);
      return { res, id, key, roster, grant };
    }

    it('never tells whether an email has an account', async () => {
      await signupAndLogin('alice@example.com');
      const known = await call('POST', '/v1/auth/prelogin', { email: 'alice@example.com' });
      const unknown = await call('POST', '/v1/auth/prelogin', { email: 'nobody@example.com' });
      expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(known.body).sort());
      expect((await call('POST', '/v1/auth/prelogin', { email: 'nobody@example.com' })).body).toEqual(
        unknown.body,
      );
      const dup = await call('POST', '/v1/auth/signup', {
        userId: randomId('usr'),
        email: 'alice@example.com',
        authKey: Buffer.alloc(32, 1).toString('base64'),
        kdf: newKdfOffer(FAST),
        keys: { boxPublicKey: 'AAAA', signingPublicKey: 'AAAA', sealedPrivateKeys: 'AAAA' },
      });
      expect(dup.status).toBe(202);
      const wrong = await call('POST', '/v1/auth/login', {
        email: 'alice@example.com',
        authKey: Buffer.alloc(32, 2).toString('base64'),
      });
      const missing = await call('POST', '/v1/auth/login', {
        email: 'nobody@example.com',
        authKey: Buffer.alloc(32, 2).toString('base64'),
      });
      expect(wrong).toEqual(missing);
      expect(wrong.status).toBe(401);
    });

    it('refuses a server that lowers the KDF parameters', async () => {
      await signupAndLogin('kdf@example.com');
      await db.query('UPDATE users SET kdf = $1 WHERE email = $2', [
        JSON.stringify({ ...newKdfOffer(FAST), params: { ...FAST, memoryKiB: 1024 } }),
        'kdf@example.com',
      ]);
      const pre = await call('POST', '/v1/auth/prelogin', { email: 'kdf@example.com' });
      await expect(deriveAccountKeys(PASSWORD, pre.body as KdfOffer)).rejects.toMatchObject({
        code: 'KDF_PARAMS_TOO_WEAK',
      });
    });

    it('rotates refresh tokens, detects reuse, and revokes on logout', async () => {
      const s = await signupAndLogin('bob@example.com');
      const first = await call('POST', '/v1/auth/refresh', { refreshToken: s.refreshToken });
      expect(first.status).toBe(200);
      expect((await call('GET', '/v1/workspaces', undefined, first.body.accessToken, second)).status).toBe(
        200,
      );
      const reused = await call('POST', '/v1/auth/refresh', { refreshToken: s.refreshToken });
      expect(reused).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_REUSED' } } });
      expect((await call('POST', '/v1/auth/refresh', { refreshToken: first.body.refreshToken })).status).toBe(
        401,
      );
      const s2 = await signupAndLogin('bob@example.com');
      expect((await call('POST', '/v1/auth/logout', { refreshToken: s2.refreshToken })).status).toBe(204);
      expect((await call('POST', '/v1/auth/refresh', { refreshToken: s2.refreshToken })).status).toBe(401);
      expect((await call('GET', '/v1/workspaces', undefined, 'v1.usr_x.9999999999999.forged')).status).toBe(
        401,
      );
      expect(
        (await call('GET', '/v1/workspaces', undefined, 'v2.usr_x.fam.9999999999999.forged')).status,
      ).toBe(401);
    });

    it('lets exactly one of five concurrent refreshes win, and a reuse ends every token of the session', async () => {
      const s = await signupAndLogin('race@example.com');
      // Warm connections, so the five transactions really run at the same time.
      await Promise.all(Array.from({ length: 10 }, () => db.query('SELECT 1')));
      const results = await Promise.all(
        [0, 1, 2, 3, 4].map((i) =>
          call('POST', '/v1/auth/refresh', { refreshToken: s.refreshToken }, undefined, i % 2 ? second : app),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401]);
      // The first loser detects the reuse; the ones after it find the session already ended.
      expect(results.filter((r) => r.body?.error?.code === 'TOKEN_REUSED').length).toBeGreaterThanOrEqual(1);
      // The reuse revoked the whole session, the token the winner got included.
      const winner = results.find((r) => r.status === 200)!.body;
      expect((await call('POST', '/v1/auth/refresh', { refreshToken: winner.refreshToken })).status).toBe(
        401,
      );
      expect((await call('GET', '/v1/workspaces', undefined, winner.accessToken)).status).toBe(401);
      expect((await call('GET', '/v1/workspaces', undefined, s.accessToken, second)).status).toBe(401);
    });

    it('ends a session at once on logout: its access tokens stop working with it', async () => {
      const s = await signupAndLogin('leaving@example.com');
      expect((await call('GET', '/v1/workspaces', undefined, s.accessToken)).status).toBe(200);
      expect((await call('POST', '/v1/auth/logout', { refreshToken: s.refreshToken })).status).toBe(204);
      expect((await call('GET', '/v1/workspaces', undefined, s.accessToken)).status).toBe(401);
      expect((await call('GET', '/v1/workspaces', undefined, s.accessToken, second)).status).toBe(401);
    });

    it('answers an email with a NUL or a control character with a 400, never a 500', async () => {
      for (const email of ['nul\u0000x@example.com', 'a@b\u0000', 'bell\u0007@example.com']) {
        for (const [url, body] of [
          ['/v1/auth/prelogin', { email }],
          ['/v1/auth/login', { email, authKey: 'AAAA' }],
          [
            '/v1/auth/signup',
            {
              userId: randomId('usr'),
              email,
              authKey: 'AAAA',
              kdf: newKdfOffer(FAST),
              keys: { boxPublicKey: 'AAAA', signingPublicKey: 'AAAA', sealedPrivateKeys: 'AAAA' },
            },
          ],
        ] as const) {
          const res = await call('POST', url, body);
          expect(res.status, `${url} ${JSON.stringify(email)}`).toBe(400);
          expect(res.body.error.code).toBe('INVALID_ARGUMENT');
        }
      }
      const s = await signupAndLogin('inviter@example.com');
      const { id } = await createWorkspace(s);
      const invite = await call(
        'POST',
        `/v1/workspaces/${id}/invites`,
        { email: 'x\u0000@e.com' },
        s.accessToken,
      );
      expect(invite.status).toBe(400);
    });

    it('stores versioned ciphertext: stale writes conflict, concurrent writers never both win', async () => {
      const s = await signupAndLogin('carol@example.com');
      const { res: created, id: ws, key: wsKey, roster, grant } = await createWorkspace(s);
      expect(created.status).toBe(201);
      expect(
        (await call('POST', '/v1/workspaces', { id: ws, name: 'again', roster, grant }, s.accessToken))
          .status,
      ).toBe(409);
      const at = (version: number, name = 'STRIPE_KEY'): SecretCoordinates => ({
        workspaceId: ws,
        projectId: 'prj_1',
        environment: 'dev',
        name,
        version,
        keyVersion: 1,
      });
      const push = (items: [string, number, string][], via = app, keyVersion = 1) =>
        call(
          'POST',
          `/v1/workspaces/${ws}/secrets/prj_1/dev`,
          {
            keyVersion,
            secrets: items.map(([name, version, value]) => ({
              name,
              version,
              ciphertext: encryptSecret(wsKey, value, at(version, name)),
            })),
          },
          s.accessToken,
          via,
        );
      const put = (version: number, value: string, via = app) => push([['STRIPE_KEY', version, value]], via);
      expect((await put(1, VALUE)).status).toBe(201);
      expect(await put(1, 'stale')).toMatchObject({
        status: 409,
        body: { conflicts: [{ name: 'STRIPE_KEY', current: 1 }] },
      });
      const racers = await Promise.all([put(2, 'from-a'), put(2, 'from-b', second)]);
      expect(racers.map((r) => r.status).sort()).toEqual([201, 409]);
      // All or nothing: one stale item keeps the others out too.
      expect((await push([['OTHER', 1, 'other-1']])).status).toBe(201);
      expect(
        await push([
          ['OTHER', 2, 'other-2'],
          ['STRIPE_KEY', 2, 'stale-again'],
        ]),
      ).toMatchObject({ status: 409, body: { conflicts: [{ name: 'STRIPE_KEY', current: 2 }] } });
      expect((await push([['NEW', 1, 'x']], app, 2)).status).toBe(409);
      const pulled = await call(
        'GET',
        `/v1/workspaces/${ws}/secrets/prj_1/dev`,
        undefined,
        s.accessToken,
        second,
      );
      expect(pulled.body.map((r: { name: string; version: number }) => `${r.name}@${r.version}`)).toEqual([
        'OTHER@1',
        'STRIPE_KEY@2',
      ]);
      const latest = pulled.body[1];
      expect(['from-a', 'from-b']).toContain(decryptSecret(wsKey, latest.ciphertext, at(2)).toString());
      for (let v = 3; v <= 14; v += 1) expect((await put(v, `value-${v}`)).status).toBe(201);
      const versions = await call(
        'GET',
        `/v1/workspaces/${ws}/secrets/prj_1/dev/STRIPE_KEY/versions`,
        undefined,
        s.accessToken,
      );
      expect(versions.body.map((v: { version: number }) => v.version)).toEqual([
        14, 13, 12, 11, 10, 9, 8, 7, 6, 5,
      ]);

      // A tampering server: an older ciphertext served as the latest version is refused by the client.
      await db.query('UPDATE secrets SET ciphertext = $1 WHERE workspace_id = $2 AND version = 14', [
        versions.body[1].ciphertext,
        ws,
      ]);
      const replayed = (
        await call('GET', `/v1/workspaces/${ws}/secrets/prj_1/dev`, undefined, s.accessToken)
      ).body.find((r: { name: string }) => r.name === 'STRIPE_KEY');
      expect(() => decryptSecret(wsKey, replayed.ciphertext, at(replayed.version))).toThrow(
        /does not belong there/,
      );

      const outsider = await signupAndLogin('dave@example.com');
      expect(
        (await call('GET', `/v1/workspaces/${ws}/secrets/prj_1/dev`, undefined, outsider.accessToken)).status,
      ).toBe(404);
      const listed = await call('GET', '/v1/workspaces', undefined, s.accessToken);
      const mine = listed.body.find((w: { id: string }) => w.id === ws);
      expect(
        (
          await openWorkspaceKey(mine.grant.sealedKey, s.userKeys.box, { workspaceId: ws, keyVersion: 1 })
        ).equals(wsKey),
      ).toBe(true);
    });

    it('keeps its members equal to the signed roster: no admission without an accepted invite and its keys', async () => {
      const admin = await signupAndLogin('roster-admin@example.com');
      const joiner = await signupAndLogin('roster-joiner@example.com');
      const { id, key, roster } = await createWorkspace(admin);
      const joinerMember: RosterMember = {
        userId: joiner.userId,
        email: joiner.email,
        role: 'member',
        boxPublicKey: Buffer.from(joiner.userKeys.box.publicKey).toString('base64'),
        signingPublicKey: Buffer.from(joiner.userKeys.signing.publicKey).toString('base64'),
      };
      const { rosterHash } = await import('@agentsecrets/sync');
      const next = (members: RosterMember[]) =>
        signRoster(
          { workspaceId: id, serial: 2, prev: rosterHash(roster), keyVersion: 1, members },
          admin.userKeys.signing,
        );
      const grantFor = async (m: RosterMember) =>
        signGrant(
          {
            workspaceId: id,
            keyVersion: 1,
            rosterSerial: 2,
            recipient: m.userId,
            sealedKey: await sealWorkspaceKey(key, m.boxPublicKey, { workspaceId: id, keyVersion: 1 }),
          },
          m,
          admin.userKeys.signing,
        );
      const put = async (members: RosterMember[], by = admin) =>
        call(
          'PUT',
          `/v1/workspaces/${id}/roster`,
          { roster: next(members), grants: await Promise.all(members.slice(1).map(grantFor)) },
          by.accessToken,
        );
      const both = [roster.members[0]!, joinerMember];
      expect((await put(both)).status).toBe(404); // never invited
      await call('POST', `/v1/workspaces/${id}/invites`, { email: joiner.email }, admin.accessToken);
      expect((await put(both)).status).toBe(404); // invited, not accepted
      const mine = await call('GET', '/v1/invites', undefined, joiner.accessToken);
      await call('POST', `/v1/invites/${mine.body[0].id}/accept`, {}, joiner.accessToken);
      const forged = { ...joinerMember, boxPublicKey: Buffer.alloc(32, 7).toString('base64') };
      expect((await put([roster.members[0]!, forged])).status).toBe(400); // keys that are not theirs
      expect((await put(both, joiner)).status).toBe(404); // not a member: not even told the workspace exists
      expect((await put(both)).status).toBe(204);
      expect((await put(both)).status).toBe(409); // serial 2 is taken
      const listed = await call('GET', '/v1/workspaces', undefined, joiner.accessToken);
      expect(listed.body.map((w: { id: string; role: string }) => [w.id, w.role])).toEqual([[id, 'member']]);
      const chain = await call('GET', `/v1/workspaces/${id}/roster`, undefined, joiner.accessToken);
      expect(chain.body.rosters.map((r: { serial: number }) => r.serial)).toEqual([1, 2]);
    });

    it('refuses bad input with uniform errors, and large bodies', async () => {
      expect(await call('POST', '/v1/auth/login', { email: 'x' })).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_ARGUMENT' } },
      });
      const big = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: 'a@b.c', authKey: 'A'.repeat(2_000_000) },
      });
      expect(big.statusCode).toBe(413);
      expect((await call('GET', '/nope')).status).toBe(404);
    });

    it('holds nothing a database thief or a log reader could use', async () => {
      const tables = [
        'meta',
        'users',
        'refresh_tokens',
        'refresh_families',
        'rate_limits',
        'workspaces',
        'members',
        'rosters',
        'secrets',
      ];
      let dump = '';
      for (const t of tables) dump += JSON.stringify(await db.query(`SELECT * FROM ${t}`));
      const everything = `${dump}\n${logs.join('')}`;
      expect(everything.length).toBeGreaterThan(1000);
      expect(findLeaks(everything, PASSWORD)).toEqual([]);
      expect(findLeaks(everything, VALUE)).toEqual([]);
      expect(logs.join('')).not.toContain('@example.com');
      expect(logs.join('')).not.toContain('Bearer');
    });
  });
}
