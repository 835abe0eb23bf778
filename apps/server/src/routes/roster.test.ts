import {
  createWorkspaceKey,
  encryptSecret,
  type RosterMember,
  rosterHash,
  type SignedRoster,
  sealWorkspaceKey,
  signGrant,
  signRoster,
} from '@agentsecrets/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWorkspace,
  ENGINES,
  rosterMemberOf,
  signupAndLogin,
  startServers,
  type TestServers,
  type TestUser,
} from '../test-helpers.js';

for (const { engine, skip } of ENGINES) {
  describe.skipIf(skip)(`rosters, invites and rotations on ${engine}`, () => {
    let s: TestServers;

    beforeAll(async () => {
      s = await startServers(engine);
    });
    afterAll(() => s?.close());

    /** `key` at `keyVersion` sealed to each of `to`, granted by `admin` acting on roster version `rosterSerial`. */
    function grantsFor(
      admin: TestUser,
      workspaceId: string,
      grant: { key: Buffer; keyVersion: number; to: RosterMember[] },
      rosterSerial: number,
    ) {
      return Promise.all(
        grant.to.map(async (m) =>
          signGrant(
            {
              workspaceId,
              keyVersion: grant.keyVersion,
              rosterSerial,
              recipient: m.userId,
              sealedKey: await sealWorkspaceKey(grant.key, m.boxPublicKey, {
                workspaceId,
                keyVersion: grant.keyVersion,
              }),
            },
            m,
            admin.userKeys.signing,
          ),
        ),
      );
    }

    /** The next roster version after `prev`, signed by `admin`, with the grants `grant` describes. */
    async function nextRoster(
      admin: TestUser,
      prev: SignedRoster,
      members: RosterMember[],
      grant: { key: Buffer; keyVersion: number; to: RosterMember[] },
      keyVersion = prev.keyVersion,
    ) {
      const roster = signRoster(
        {
          workspaceId: prev.workspaceId,
          serial: prev.serial + 1,
          prev: rosterHash(prev),
          keyVersion,
          members,
        },
        admin.userKeys.signing,
      );
      return { roster, grants: await grantsFor(admin, prev.workspaceId, grant, roster.serial) };
    }

    async function acceptInvite(ws: string, admin: TestUser, joiner: TestUser) {
      const { call } = s;
      expect(
        await call('POST', `/v1/workspaces/${ws}/invites`, { email: joiner.email }, admin.accessToken),
      ).toEqual({ status: 202, body: { status: 'invited' } });
      const mine = await call('GET', '/v1/invites', undefined, joiner.accessToken);
      const invite = mine.body.find((i: { workspaceId: string }) => i.workspaceId === ws);
      expect(invite).toMatchObject({ workspaceName: 'team', status: 'pending' });
      expect((await call('POST', `/v1/invites/${invite.id}/accept`, {}, joiner.accessToken)).status).toBe(
        204,
      );
    }

    it('keeps its members equal to the signed roster: no admission without an accepted invite and its keys', async () => {
      const { call } = s;
      const admin = await signupAndLogin(call, 'roster-admin@example.com');
      const joiner = await signupAndLogin(call, 'roster-joiner@example.com');
      const { id, key, roster } = await createWorkspace(call, admin);
      const joinerMember = rosterMemberOf(joiner, 'member');
      const put = async (members: RosterMember[], by = admin) => {
        const next = await nextRoster(admin, roster, members, { key, keyVersion: 1, to: members.slice(1) });
        return call('PUT', `/v1/workspaces/${id}/roster`, next, by.accessToken);
      };
      const both = [roster.members[0]!, joinerMember];
      const noInvite = {
        status: 404,
        body: {
          error: { code: 'INVITE_NOT_FOUND', message: 'no accepted invite for a member the roster admits' },
        },
      };
      expect(await put(both)).toEqual(noInvite); // never invited
      await call('POST', `/v1/workspaces/${id}/invites`, { email: joiner.email }, admin.accessToken);
      expect(await put(both)).toEqual(noInvite); // invited, not accepted
      const invites = await call('GET', `/v1/workspaces/${id}/invites`, undefined, admin.accessToken);
      expect(invites.body).toMatchObject([
        { email: joiner.email, status: 'pending', userId: null, boxPublicKey: null },
      ]);
      const mine = await call('GET', '/v1/invites', undefined, joiner.accessToken);
      expect(await call('POST', '/v1/invites/inv_nope/accept', {}, joiner.accessToken)).toMatchObject({
        status: 404,
        body: { error: { code: 'INVITE_NOT_FOUND' } },
      });
      await call('POST', `/v1/invites/${mine.body[0].id}/accept`, {}, joiner.accessToken);
      expect(
        (await call('GET', `/v1/workspaces/${id}/invites`, undefined, admin.accessToken)).body,
      ).toMatchObject([
        { status: 'accepted', userId: joiner.userId, boxPublicKey: joinerMember.boxPublicKey },
      ]);
      const forged = { ...joinerMember, boxPublicKey: Buffer.alloc(32, 7).toString('base64') };
      expect(await put([roster.members[0]!, forged])).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_ARGUMENT' } },
      }); // keys that are not theirs
      expect(await put(both, joiner)).toMatchObject({
        status: 404,
        body: { error: { code: 'WORKSPACE_NOT_FOUND' } },
      }); // not a member: not even told the workspace exists
      expect((await put(both)).status).toBe(204);
      expect(await put(both)).toMatchObject({ status: 409, body: { error: { code: 'SYNC_CONFLICT' } } }); // serial 2 is taken
      const listed = await call('GET', '/v1/workspaces', undefined, joiner.accessToken);
      expect(listed.body.map((w: { id: string; role: string }) => [w.id, w.role])).toEqual([[id, 'member']]);
      const chain = await call('GET', `/v1/workspaces/${id}/roster`, undefined, joiner.accessToken);
      expect(chain.body.rosters.map((r: { serial: number }) => r.serial)).toEqual([1, 2]);
      const members = await call('GET', `/v1/workspaces/${id}/members`, undefined, joiner.accessToken);
      expect(members.body.map((m: { email: string; role: string }) => `${m.email}:${m.role}`)).toEqual([
        'roster-admin@example.com:admin',
        'roster-joiner@example.com:member',
      ]);
      // A member who is not an admin cannot invite, nor read the invites.
      expect(
        await call('POST', `/v1/workspaces/${id}/invites`, { email: 'eve@example.com' }, joiner.accessToken),
      ).toEqual({
        status: 403,
        body: { error: { code: 'REQUEST_REFUSED', message: 'only an admin of the workspace can do that' } },
      });
      expect((await call('GET', `/v1/workspaces/${id}/invites`, undefined, joiner.accessToken)).status).toBe(
        403,
      );
    });

    it('rotates only to the key version a signed roster asked for, granted to exactly its members', async () => {
      const { call } = s;
      const admin = await signupAndLogin(call, 'rotate-admin@example.com');
      const leaver = await signupAndLogin(call, 'rotate-leaver@example.com');
      const { id, key, roster } = await createWorkspace(call, admin);
      await acceptInvite(id, admin, leaver);
      const me = roster.members[0]!;
      const admitted = await nextRoster(admin, roster, [me, rosterMemberOf(leaver, 'member')], {
        key,
        keyVersion: 1,
        to: [rosterMemberOf(leaver, 'member')],
      });
      expect((await call('PUT', `/v1/workspaces/${id}/roster`, admitted, admin.accessToken)).status).toBe(
        204,
      );
      const coords = (version: number, keyVersion: number) => ({
        workspaceId: id,
        projectId: 'prj',
        environment: 'dev',
        name: 'K',
        version,
        keyVersion,
      });
      const pushed = await call(
        'POST',
        `/v1/workspaces/${id}/secrets/prj/dev`,
        {
          keyVersion: 1,
          secrets: [{ name: 'K', version: 1, ciphertext: encryptSecret(key, 'v1', coords(1, 1)) }],
        },
        admin.accessToken,
      );
      expect(pushed.status).toBe(201);

      // The removal asks for key version 2: the leaver is out at once, pushes wait for the rotation.
      const removal = await nextRoster(admin, admitted.roster, [me], { key, keyVersion: 1, to: [] }, 2);
      expect((await call('PUT', `/v1/workspaces/${id}/roster`, removal, admin.accessToken)).status).toBe(204);
      expect((await call('GET', `/v1/workspaces/${id}/roster`, undefined, leaver.accessToken)).status).toBe(
        404,
      );
      const [entry] = (await call('GET', '/v1/workspaces', undefined, admin.accessToken)).body;
      expect(entry).toMatchObject({ id, keyVersion: 1, rotationPending: true });
      const blocked = await call(
        'POST',
        `/v1/workspaces/${id}/secrets/prj/dev`,
        {
          keyVersion: 1,
          secrets: [{ name: 'K', version: 2, ciphertext: encryptSecret(key, 'v2', coords(2, 1)) }],
        },
        admin.accessToken,
      );
      expect(blocked).toMatchObject({ status: 409, body: { error: { code: 'SYNC_CONFLICT' } } });

      const newKey = createWorkspaceKey();
      const serial = removal.roster.serial;
      const grant = await grantsFor(admin, id, { key: newKey, keyVersion: 2, to: [me] }, serial);
      const rotate = (body: object) => call('POST', `/v1/workspaces/${id}/rotate`, body, admin.accessToken);
      const secrets = [
        {
          projectId: 'prj',
          environment: 'dev',
          name: 'K',
          version: 2,
          ciphertext: encryptSecret(newKey, 'v1', coords(2, 2)),
        },
      ];
      // A rotation that grants the key to someone the roster dropped, or skips a secret, changes nothing.
      const toLeaver = await grantsFor(
        admin,
        id,
        { key: newKey, keyVersion: 2, to: [me, rosterMemberOf(leaver, 'member')] },
        serial,
      );
      expect(await rotate({ keyVersion: 2, grants: toLeaver, secrets })).toMatchObject({
        status: 409,
        body: { error: { code: 'SYNC_CONFLICT', message: 'the members changed meanwhile' } },
      });
      expect(await rotate({ keyVersion: 2, grants: grant, secrets: [] })).toMatchObject({
        status: 409,
        body: { error: { code: 'SYNC_CONFLICT', message: 'the secrets changed meanwhile' } },
      });
      expect(await rotate({ keyVersion: 3, grants: grant, secrets })).toMatchObject({ status: 409 });
      expect((await rotate({ keyVersion: 2, grants: grant, secrets })).status).toBe(204);
      const [after] = (await call('GET', '/v1/workspaces', undefined, admin.accessToken)).body;
      expect(after).toMatchObject({ id, keyVersion: 2, rotationPending: false, grant: { keyVersion: 2 } });
      const latest = await call('GET', `/v1/workspaces/${id}/secrets/prj/dev`, undefined, admin.accessToken);
      expect(latest.body).toEqual([
        { name: 'K', version: 2, ciphertext: secrets[0]!.ciphertext, keyVersion: 2 },
      ]);
      // Done once: a second rotation to the same version is stale.
      expect(await rotate({ keyVersion: 2, grants: grant, secrets })).toMatchObject({ status: 409 });
    });
  });
}
