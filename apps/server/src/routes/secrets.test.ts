import { decryptSecret, encryptSecret, openWorkspaceKey, type SecretCoordinates } from '@agentsecrets/sync';
import { findLeaks } from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWorkspace,
  ENGINES,
  PASSWORD,
  signupAndLogin,
  startServers,
  type TestServers,
} from '../test-helpers.js';

const VALUE = 'sk_live_SYNC_CANARY_00112233';

for (const { engine, skip } of ENGINES) {
  describe.skipIf(skip)(`secrets on ${engine}`, () => {
    let s: TestServers;

    beforeAll(async () => {
      s = await startServers(engine);
    });
    afterAll(() => s?.close());

    it('stores versioned ciphertext: stale writes conflict, concurrent writers never both win', async () => {
      const { call, db, app, second } = s;
      const u = await signupAndLogin(call, 'carol@example.com');
      const { res: created, id: ws, key: wsKey, roster, grant } = await createWorkspace(call, u);
      expect(created).toEqual({ status: 201, body: { id: ws, name: 'team', keyVersion: 1 } });
      expect(
        await call('POST', '/v1/workspaces', { id: ws, name: 'again', roster, grant }, u.accessToken),
      ).toEqual({
        status: 409,
        body: { error: { code: 'SYNC_CONFLICT', message: 'that workspace id is taken; generate another' } },
      });
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
          u.accessToken,
          via,
        );
      const put = (version: number, value: string, via = app) => push([['STRIPE_KEY', version, value]], via);
      expect(await put(1, VALUE)).toEqual({ status: 201, body: { pushed: 1 } });
      expect(await put(1, 'stale')).toMatchObject({
        status: 409,
        body: { error: { code: 'VERSION_CONFLICT' }, conflicts: [{ name: 'STRIPE_KEY', current: 1 }] },
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
      // Under a key version that is not the workspace's: refused before any version is compared.
      expect(await push([['NEW', 1, 'x']], app, 2)).toMatchObject({
        status: 409,
        body: { error: { code: 'SYNC_CONFLICT' } },
      });
      expect(
        await push([
          ['DUP', 1, 'a'],
          ['DUP', 1, 'b'],
        ]),
      ).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT' } } });
      const pulled = await call(
        'GET',
        `/v1/workspaces/${ws}/secrets/prj_1/dev`,
        undefined,
        u.accessToken,
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
        u.accessToken,
      );
      // The last 10 versions are kept.
      expect(versions.body.map((v: { version: number }) => v.version)).toEqual([
        14, 13, 12, 11, 10, 9, 8, 7, 6, 5,
      ]);

      // A tampering server: an older ciphertext served as the latest version is refused by the client.
      await db.query('UPDATE secrets SET ciphertext = $1 WHERE workspace_id = $2 AND version = 14', [
        versions.body[1].ciphertext,
        ws,
      ]);
      const replayed = (
        await call('GET', `/v1/workspaces/${ws}/secrets/prj_1/dev`, undefined, u.accessToken)
      ).body.find((r: { name: string }) => r.name === 'STRIPE_KEY');
      expect(() => decryptSecret(wsKey, replayed.ciphertext, at(replayed.version))).toThrow(
        /does not belong there/,
      );

      const outsider = await signupAndLogin(call, 'dave@example.com');
      expect(
        await call('GET', `/v1/workspaces/${ws}/secrets/prj_1/dev`, undefined, outsider.accessToken),
      ).toEqual({
        status: 404,
        body: { error: { code: 'WORKSPACE_NOT_FOUND', message: 'no such workspace' } },
      });
      const listed = await call('GET', '/v1/workspaces', undefined, u.accessToken);
      const mine = listed.body.find((w: { id: string }) => w.id === ws);
      expect(
        (
          await openWorkspaceKey(mine.grant.sealedKey, u.userKeys.box, { workspaceId: ws, keyVersion: 1 })
        ).equals(wsKey),
      ).toBe(true);
    });

    it('lists the latest ciphertext of every secret of the workspace to its admins only (for a rotation)', async () => {
      const { call } = s;
      const admin = await signupAndLogin(call, 'rotator@example.com');
      const { id: ws, key } = await createWorkspace(call, admin);
      for (const [project, env, name, version] of [
        ['prj_a', 'dev', 'A', 1],
        ['prj_a', 'dev', 'A', 2],
        ['prj_b', 'prod', 'B', 1],
      ] as const) {
        const coords = {
          workspaceId: ws,
          projectId: project,
          environment: env,
          name,
          version,
          keyVersion: 1,
        };
        const res = await call(
          'POST',
          `/v1/workspaces/${ws}/secrets/${project}/${env}`,
          {
            keyVersion: 1,
            secrets: [{ name, version, ciphertext: encryptSecret(key, `${name}${version}`, coords) }],
          },
          admin.accessToken,
        );
        expect(res.status).toBe(201);
      }
      const all = await call('GET', `/v1/workspaces/${ws}/secrets`, undefined, admin.accessToken);
      expect(all.status).toBe(200);
      expect(
        all.body.map((r: { projectId: string; environment: string; name: string; version: number }) =>
          [r.projectId, r.environment, r.name, r.version].join(' '),
        ),
      ).toEqual(['prj_a dev A 2', 'prj_b prod B 1']);
      const stranger = await signupAndLogin(call, 'stranger@example.com');
      expect(
        (await call('GET', `/v1/workspaces/${ws}/secrets`, undefined, stranger.accessToken)).status,
      ).toBe(404);
    });

    it('holds nothing a database thief or a log reader could use', async () => {
      const { db, logs } = s;
      const tables = [
        'meta',
        'users',
        'refresh_tokens',
        'refresh_families',
        'rate_limits',
        'workspaces',
        'members',
        'rosters',
        'invites',
        'policies',
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
