import { randomId } from '@agentsecrets/crypto';
import { deriveAccountKeys, type KdfOffer, newKdfOffer } from '@agentsecrets/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWorkspace,
  ENGINES,
  FAST_KDF,
  PASSWORD,
  signupAndLogin,
  startServers,
  type TestServers,
} from '../test-helpers.js';

for (const { engine, skip } of ENGINES) {
  describe.skipIf(skip)(`accounts and sessions on ${engine}`, () => {
    let s: TestServers;

    beforeAll(async () => {
      s = await startServers(engine);
    });
    afterAll(() => s?.close());

    it('never tells whether an email has an account', async () => {
      const { call } = s;
      await signupAndLogin(call, 'alice@example.com');
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
        kdf: newKdfOffer(FAST_KDF),
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
      expect(wrong).toEqual({
        status: 401,
        body: { error: { code: 'INVALID_CREDENTIALS', message: 'wrong email or password' } },
      });
    });

    it('refuses a server that lowers the KDF parameters', async () => {
      const { call, db } = s;
      await signupAndLogin(call, 'kdf@example.com');
      await db.query('UPDATE users SET kdf = $1 WHERE email = $2', [
        JSON.stringify({ ...newKdfOffer(FAST_KDF), params: { ...FAST_KDF, memoryKiB: 1024 } }),
        'kdf@example.com',
      ]);
      const pre = await call('POST', '/v1/auth/prelogin', { email: 'kdf@example.com' });
      await expect(deriveAccountKeys(PASSWORD, pre.body as KdfOffer)).rejects.toMatchObject({
        code: 'KDF_PARAMS_TOO_WEAK',
      });
    });

    it('rotates the refresh token on refresh: both tokens are new and the access token works', async () => {
      const { call, second } = s;
      const u = await signupAndLogin(call, 'bob@example.com');
      const first = await call('POST', '/v1/auth/refresh', { refreshToken: u.refreshToken });
      expect(first.status).toBe(200);
      expect(first.body.refreshToken).not.toBe(u.refreshToken);
      expect(first.body.accessToken).not.toBe(u.accessToken);
      expect((await call('GET', '/v1/workspaces', undefined, first.body.accessToken, second)).status).toBe(
        200,
      );
    });

    it('answers a reused refresh token with TOKEN_REUSED and ends the tokens refreshed from it', async () => {
      const { call } = s;
      const u = await signupAndLogin(call, 'reuse@example.com');
      const first = await call('POST', '/v1/auth/refresh', { refreshToken: u.refreshToken });
      expect(first.status).toBe(200);
      const reused = await call('POST', '/v1/auth/refresh', { refreshToken: u.refreshToken });
      expect(reused).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_REUSED' } } });
      expect(await call('POST', '/v1/auth/refresh', { refreshToken: first.body.refreshToken })).toMatchObject(
        { status: 401, body: { error: { code: 'UNAUTHORIZED' } } },
      );
    });

    it('refuses a refresh after logout', async () => {
      const { call } = s;
      const u = await signupAndLogin(call, 'out@example.com');
      expect((await call('POST', '/v1/auth/logout', { refreshToken: u.refreshToken })).status).toBe(204);
      expect((await call('POST', '/v1/auth/refresh', { refreshToken: u.refreshToken })).status).toBe(401);
    });

    it('refuses a forged access token with UNAUTHORIZED', async () => {
      const { call } = s;
      for (const forged of ['v1.usr_x.9999999999999.forged', 'v2.usr_x.fam.9999999999999.forged']) {
        expect(await call('GET', '/v1/workspaces', undefined, forged)).toMatchObject({
          status: 401,
          body: { error: { code: 'UNAUTHORIZED' } },
        });
      }
    });

    it('lets exactly one of five concurrent refreshes win, and a reuse ends every token of the session', async () => {
      const { call, db, app, second } = s;
      const u = await signupAndLogin(call, 'race@example.com');
      // Warm connections, so the five transactions really run at the same time.
      await Promise.all(Array.from({ length: 10 }, () => db.query('SELECT 1')));
      const results = await Promise.all(
        [0, 1, 2, 3, 4].map((i) =>
          call('POST', '/v1/auth/refresh', { refreshToken: u.refreshToken }, undefined, i % 2 ? second : app),
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
      expect((await call('GET', '/v1/workspaces', undefined, u.accessToken, second)).status).toBe(401);
    });

    it('ends a session at once on logout: its access tokens stop working with it', async () => {
      const { call, second } = s;
      const u = await signupAndLogin(call, 'leaving@example.com');
      expect((await call('GET', '/v1/workspaces', undefined, u.accessToken)).status).toBe(200);
      expect((await call('POST', '/v1/auth/logout', { refreshToken: u.refreshToken })).status).toBe(204);
      expect((await call('GET', '/v1/workspaces', undefined, u.accessToken)).status).toBe(401);
      expect((await call('GET', '/v1/workspaces', undefined, u.accessToken, second)).status).toBe(401);
    });

    it('answers an email with a NUL or a control character with a 400, never a 500', async () => {
      const { call } = s;
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
              kdf: newKdfOffer(FAST_KDF),
              keys: { boxPublicKey: 'AAAA', signingPublicKey: 'AAAA', sealedPrivateKeys: 'AAAA' },
            },
          ],
        ] as const) {
          const res = await call('POST', url, body);
          expect(res.status, `${url} ${JSON.stringify(email)}`).toBe(400);
          expect(res.body.error.code).toBe('INVALID_ARGUMENT');
        }
      }
      const u = await signupAndLogin(call, 'inviter@example.com');
      const { id } = await createWorkspace(call, u);
      const invite = await call(
        'POST',
        `/v1/workspaces/${id}/invites`,
        { email: 'x\u0000@e.com' },
        u.accessToken,
      );
      expect(invite).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT' } } });
    });

    it('limits sign-up and login attempts per minute with RATE_LIMITED (429)', async () => {
      const limited = await startServers(engine, { authRateLimit: 2 });
      try {
        const login = () =>
          limited.call('POST', '/v1/auth/login', { email: 'limit@example.com', authKey: 'AAAA' });
        const statuses: number[] = [];
        let last: Awaited<ReturnType<typeof login>> | undefined;
        // The third attempt of a minute is refused (the fifth at most, when the minute turns in between).
        while (statuses.length < 5 && last?.status !== 429) {
          last = await login();
          statuses.push(last.status);
        }
        expect(statuses.slice(0, 2)).toEqual([401, 401]);
        expect(last).toEqual({
          status: 429,
          body: { error: { code: 'RATE_LIMITED', message: 'too many attempts; wait a minute' } },
        });
      } finally {
        await limited.close();
      }
    });
  });
}
