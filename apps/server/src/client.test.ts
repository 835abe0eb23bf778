// The sync client (`@agentsecrets/sync`) against the real server, with a man in the middle that forwards untouched
// unless a test makes it play a hostile server.
import { type OpenedWorkspace, SyncClient, type SyncLocation, type SyncSession } from '@agentsecrets/sync';
import { type Mitm, startMitm } from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startServers, type TestServers } from './test-helpers.js';

const PASSWORD = 'sync client test password';

for (const { engine, skip } of ENGINES) {
  describe.skipIf(skip)(`the sync client against a real server on ${engine}`, () => {
    let s: TestServers;
    let mitm: Mitm;
    let client: SyncClient;
    let laptop: SyncSession;
    let created: OpenedWorkspace;
    const at = (projectId: string): SyncLocation => ({
      workspace: created.workspace,
      projectId,
      environment: 'default',
    });

    beforeAll(async () => {
      s = await startServers(engine);
      mitm = await startMitm(await s.app.listen({ port: 0, host: '127.0.0.1' }));
      client = new SyncClient(mitm.url);
      await client.signup('erin@example.com', PASSWORD);
      laptop = await client.login('erin@example.com', PASSWORD);
      created = await client.createWorkspace(laptop, 'team');
    });
    afterAll(async () => {
      await mitm?.close();
      await s?.close();
    });

    it('refuses a wrong password with INVALID_CREDENTIALS, as for an email without an account', async () => {
      for (const email of ['erin@example.com', 'nobody@example.com']) {
        await expect(client.login(email, 'wrong password!')).rejects.toMatchObject({
          code: 'INVALID_CREDENTIALS',
          message: 'the sync server refused: wrong email or password',
          hint: 'check both and try again',
        });
      }
    });

    it('pushes all or nothing: a stale base comes back as a conflict and nothing is written', async () => {
      const one = [{ name: 'API_KEY', value: Buffer.from('value-one-123'), baseVersion: 0 }];
      expect(await client.push(laptop, at('prj_push'), one)).toEqual({
        pushed: [{ name: 'API_KEY', version: 1 }],
      });
      const both = [
        { name: 'NEW_KEY', value: Buffer.from('new'), baseVersion: 0 },
        { name: 'API_KEY', value: Buffer.from('stale'), baseVersion: 0 },
      ];
      expect(await client.push(laptop, at('prj_push'), both)).toEqual({
        conflicts: [{ name: 'API_KEY', current: 1 }],
      });
      const pulled = await client.pull(laptop, at('prj_push'));
      expect(pulled.map((p) => [p.name, p.version, p.value.toString()])).toEqual([
        ['API_KEY', 1, 'value-one-123'],
      ]);
    });

    it('opens the workspace on a second device from the grant its admin signed, and pulls the values', async () => {
      await client.push(laptop, at('prj_desk'), [
        { name: 'B_KEY', value: Buffer.from('bee'), baseVersion: 0 },
        { name: 'A_KEY', value: Buffer.from('ay'), baseVersion: 0 },
      ]);
      const desktop = await client.login('erin@example.com', PASSWORD);
      const [entry] = await client.listWorkspaces(desktop);
      expect(entry).toMatchObject({ name: 'team', role: 'admin', keyVersion: 1, rotationPending: false });
      const seen = await client.openWorkspace(desktop, entry!, created.roster.pin);
      expect(seen.workspace.key.equals(created.workspace.key)).toBe(true);
      expect(seen.roster.pin).toEqual(created.roster.pin);
      expect(seen.serverClaimsRotation).toBe(false);
      const pulled = await client.pull(desktop, { ...at('prj_desk'), workspace: seen.workspace });
      expect(pulled.map((p) => [p.name, p.version, p.value.toString()])).toEqual([
        ['A_KEY', 1, 'ay'],
        ['B_KEY', 1, 'bee'],
      ]);
    });

    it('refuses a server that offers an older version than one already seen', async () => {
      await client.push(laptop, at('prj_roll'), [
        { name: 'R_KEY', value: Buffer.from('r1'), baseVersion: 0 },
      ]);
      await expect(client.pull(laptop, at('prj_roll'), { R_KEY: 2 })).rejects.toMatchObject({
        code: 'DECRYPT_FAILED',
        message: 'the server offered R_KEY at version 1, older than 2',
      });
    });

    it('refreshes an expired access token once, transparently, and the refresh token rotates', async () => {
      const session = await client.login('erin@example.com', PASSWORD);
      const before = session.refreshToken;
      session.accessToken = 'v2.x.y.0.expired';
      const from = mitm.exchanges.length;
      expect((await client.listWorkspaces(session)).map((w) => w.name)).toEqual(['team']);
      expect(session.refreshToken).not.toBe(before);
      expect(session.accessToken).not.toBe('v2.x.y.0.expired');
      expect(mitm.exchanges.slice(from).map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
        'GET /v1/workspaces 401',
        'POST /v1/auth/refresh 200',
        'GET /v1/workspaces 200',
      ]);
    });

    it('ends the session at logout: the access token it held stops working at once', async () => {
      const session = await client.login('erin@example.com', PASSWORD);
      const stillLive = session.accessToken;
      await client.logout(session);
      await expect(client.listWorkspaces({ ...session, accessToken: stillLive })).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        hint: 'run `agentsecrets login` again',
      });
    });

    it("raises the server's own code for a workspace the user is not a member of", async () => {
      await client.signup('frank@example.com', PASSWORD);
      const frank = await client.login('frank@example.com', PASSWORD);
      await expect(client.pull(frank, at('prj_push'))).rejects.toMatchObject({
        code: 'WORKSPACE_NOT_FOUND',
        message: 'the sync server refused: no such workspace',
      });
      await expect(client.invite(frank, created.workspace.id, 'x@example.com')).rejects.toMatchObject({
        code: 'WORKSPACE_NOT_FOUND',
      });
    });

    it("raises the server's own code for admitting someone who has no invite", async () => {
      await client.signup('gina@example.com', PASSWORD);
      await expect(client.admit(laptop, created, 'gina@example.com', '0000')).rejects.toMatchObject({
        code: 'INVITE_NOT_FOUND',
      });
    });

    it('takes only sync error codes from a server, never a guess from the HTTP status', async () => {
      const answers: [number, unknown, string][] = [
        // A code of the error table the sync server never sends: a server cannot make the client claim tampering.
        [403, { error: { code: 'KEY_GRANT_INVALID', message: 'x' } }, 'UPSTREAM_RESET'],
        [401, { error: { code: 'VAULT_LOCKED', message: 'x' } }, 'UPSTREAM_RESET'],
        // A bare status is not an answer.
        [404, {}, 'UPSTREAM_RESET'],
        [409, { message: 'conflict' }, 'UPSTREAM_RESET'],
        // A sync code is taken whatever the status.
        [500, { error: { code: 'RATE_LIMITED', message: 'slow down' } }, 'RATE_LIMITED'],
      ];
      try {
        for (const [status, body, code] of answers) {
          mitm.intercept = () => ({ kind: 'respond', status, body });
          await expect(client.pull(laptop, at('prj_push')), JSON.stringify(body)).rejects.toMatchObject({
            code,
          });
        }
      } finally {
        mitm.intercept = () => ({ kind: 'forward' });
      }
    });

    it("never lets a server's text put control characters on the terminal", async () => {
      const evil = 'no\u001b]52;c;ZXZpbA==\u0007 way\u001b[2J\u202e!';
      mitm.intercept = () => ({
        kind: 'respond',
        status: 403,
        body: { error: { code: 'REQUEST_REFUSED', message: evil } },
      });
      try {
        const refused = await client.pull(laptop, at('prj_push')).catch((e: Error) => e);
        expect(refused).toMatchObject({ code: 'REQUEST_REFUSED' });
        expect((refused as Error).message).toBe('the sync server refused: no]52;c;ZXZpbA== way[2J!');
      } finally {
        mitm.intercept = () => ({ kind: 'forward' });
      }
    });
  });
}
