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
  type SecretCoordinates,
  sealUserKeys,
  sealWorkspaceKey,
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
        for (const t of ['secrets', 'members', 'workspaces', 'refresh_tokens', 'rate_limits', 'users'])
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
      return { ...login.body, userKeys: opened } as {
        accessToken: string;
        refreshToken: string;
        userId: string;
        userKeys: typeof opened;
      };
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
    });

    it('stores versioned ciphertext: stale writes conflict, concurrent writers never both win', async () => {
      const s = await signupAndLogin('carol@example.com');
      const wsKey = createWorkspaceKey();
      const pub = Buffer.from(s.userKeys.box.publicKey).toString('base64');
      const ws = randomId('ws');
      const created = await call(
        'POST',
        '/v1/workspaces',
        {
          id: ws,
          name: 'team',
          sealedKey: await sealWorkspaceKey(wsKey, pub, { workspaceId: ws, keyVersion: 1 }),
        },
        s.accessToken,
      );
      expect(created.status).toBe(201);
      expect(
        (await call('POST', '/v1/workspaces', { id: ws, name: 'again', sealedKey: 'AAAA' }, s.accessToken))
          .status,
      ).toBe(409);
      const at = (version: number): SecretCoordinates => ({
        workspaceId: ws,
        projectId: 'prj_1',
        environment: 'dev',
        name: 'STRIPE_KEY',
        version,
        keyVersion: 1,
      });
      const put = (version: number, value: string, via = app) =>
        call(
          'PUT',
          `/v1/workspaces/${ws}/secrets/prj_1/dev/STRIPE_KEY`,
          { ciphertext: encryptSecret(wsKey, value, at(version)), version, keyVersion: 1 },
          s.accessToken,
          via,
        );
      expect((await put(1, VALUE)).status).toBe(201);
      expect((await put(1, 'stale')).status).toBe(409);
      const racers = await Promise.all([put(2, 'from-a'), put(2, 'from-b', second)]);
      expect(racers.map((r) => r.status).sort()).toEqual([201, 409]);
      const pulled = await call(
        'GET',
        `/v1/workspaces/${ws}/secrets/prj_1/dev`,
        undefined,
        s.accessToken,
        second,
      );
      expect(pulled.body).toHaveLength(1);
      const latest = pulled.body[0];
      expect(latest.version).toBe(2);
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
      const replayed = (await call('GET', `/v1/workspaces/${ws}/secrets/prj_1/dev`, undefined, s.accessToken))
        .body[0];
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
        (await openWorkspaceKey(mine.sealedKey, s.userKeys.box, { workspaceId: ws, keyVersion: 1 })).equals(
          wsKey,
        ),
      ).toBe(true);
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
      const tables = ['meta', 'users', 'refresh_tokens', 'rate_limits', 'workspaces', 'members', 'secrets'];
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
