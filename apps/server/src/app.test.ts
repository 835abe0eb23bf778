import { httpStatusFor } from '@agentsecrets/errors';
import { SYNC_ERROR_CODES } from '@agentsecrets/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, signupAndLogin, startServers, type TestServers } from './test-helpers.js';

/** Every route as `printRoutes` draws it: `METHOD /full/path`, HEAD left out (it is GET's). */
function routesOf(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+) \(([^)]+)\)$/.exec(line.replace(/\u00a0/g, ' '));
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const path = stack.join('');
    for (const method of m[3]!.split(', ')) if (method !== 'HEAD') out.push(`${method} ${path}`);
  }
  return out.sort();
}

const PUBLIC = [
  'GET /health',
  'POST /v1/auth/login',
  'POST /v1/auth/logout',
  'POST /v1/auth/prelogin',
  'POST /v1/auth/refresh',
  'POST /v1/auth/signup',
];

describe('the sync error codes', () => {
  it('has a status in the error table for every code it may answer with', () => {
    const statuses = Object.fromEntries(SYNC_ERROR_CODES.map((c) => [c, httpStatusFor(c)]));
    expect(statuses).toEqual({
      INVALID_ARGUMENT: 400,
      REQUEST_TOO_LARGE: 413,
      ROUTE_NOT_FOUND: 404,
      UNAUTHORIZED: 401,
      INVALID_CREDENTIALS: 401,
      TOKEN_REUSED: 401,
      RATE_LIMITED: 429,
      REQUEST_REFUSED: 403,
      WORKSPACE_NOT_FOUND: 404,
      INVITE_NOT_FOUND: 404,
      SYNC_CONFLICT: 409,
      VERSION_CONFLICT: 409,
      INTERNAL_ERROR: 500,
    });
  });
});

for (const { engine, skip } of ENGINES) {
  describe.skipIf(skip)(`the server's shape on ${engine}`, () => {
    let s: TestServers;

    beforeAll(async () => {
      s = await startServers(engine);
    });
    afterAll(() => s?.close());

    it('answers every route but the account ones only to a live access token', async () => {
      const { app, call } = s;
      await app.ready();
      const routes = routesOf(app.printRoutes({ commonPrefix: false }));
      expect(routes.length).toBe(PUBLIC.length + 16);
      const guarded = routes.filter((r) => !PUBLIC.includes(r));
      expect(routes.filter((r) => PUBLIC.includes(r))).toEqual(PUBLIC);
      const user = await signupAndLogin(call, 'guard@example.com');
      await call('POST', '/v1/auth/logout', { refreshToken: user.refreshToken });
      const tokens = [undefined, 'v2.usr_x.fam.9999999999999.forged', user.accessToken /* session ended */];
      for (const route of guarded) {
        const [method, pattern] = route.split(' ') as ['GET' | 'POST' | 'PUT', string];
        const url = pattern
          .replace(':ws', 'ws_0123456789abcdefgh')
          .replace(':project', 'prj')
          .replace(':env', 'dev')
          .replace(':name', 'KEY')
          .replace(':id', 'inv_x');
        for (const token of tokens) {
          expect(await call(method, url, method === 'GET' ? undefined : {}, token), route).toEqual({
            status: 401,
            body: { error: { code: 'UNAUTHORIZED', message: 'missing, invalid or expired access token' } },
          });
        }
      }
    });

    it('answers bad input with the uniform error body and the status of its code', async () => {
      const { app, call } = s;
      expect(await call('POST', '/v1/auth/login', { email: 'x' })).toEqual({
        status: 400,
        body: { error: { code: 'INVALID_ARGUMENT', message: 'invalid field: email' } },
      });
      const notJson = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: '{"email":',
      });
      expect([notJson.statusCode, JSON.parse(notJson.body)]).toEqual([
        400,
        { error: { code: 'INVALID_ARGUMENT', message: 'the request was not understood' } },
      ]);
      const big = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: 'a@b.c', authKey: 'A'.repeat(2_000_000) },
      });
      expect([big.statusCode, JSON.parse(big.body).error.code]).toEqual([413, 'REQUEST_TOO_LARGE']);
      expect(await call('GET', '/nope')).toEqual({
        status: 404,
        body: { error: { code: 'ROUTE_NOT_FOUND', message: 'no such route' } },
      });
      expect(await call('GET', '/health')).toEqual({ status: 200, body: { status: 'ok' } });
    });
  });
}
