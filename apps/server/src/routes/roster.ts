import { RosterUpdateRequestSchema, RotateRequestSchema } from '@agentsecrets/sync';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/db.js';
import { SyncRefusal } from '../errors.js';
import { acceptedInvite, deleteInvitesOf, markDone } from '../store/invites.js';
import * as members from '../store/members.js';
import { insertRoster, latestRoster, rostersOf } from '../store/rosters.js';
import { insertSecret, latestVersions, secretKey } from '../store/secrets.js';
import { finishRotation, markRotationPending } from '../store/workspaces.js';
import { BULK_BODY_LIMIT, lockedWorkspace, requireAdmin, requireMember, WorkspaceParams } from './access.js';
import { checkGrant, matchesAccount } from './checks.js';

/**
 * Signed rosters and key rotations. The server cannot check a signature it has no reason to trust itself — clients
 * verify rosters and grants against admins they pinned — but it keeps its member table equal to the newest roster,
 * so authorization follows what the admins signed.
 */
export async function rosterRoutes(app: FastifyInstance, { db }: { db: Db }) {
  app.get('/v1/workspaces/:ws/roster', async (req) => {
    const { ws } = WorkspaceParams.parse(req.params);
    await requireMember(db, ws, req.userId);
    return { rosters: await rostersOf(db, ws) };
  });

  // The next roster version, signed by an admin on the client. Members it admits need an accepted invite (with the
  // keys the roster names) and a grant of the current key; members it drops are removed (and may be invited again);
  // a higher key version marks the rotation that the admins asked for.
  app.put('/v1/workspaces/:ws/roster', async (req, reply) => {
    const { ws } = WorkspaceParams.parse(req.params);
    const { roster, grants } = RosterUpdateRequestSchema.parse(req.body);
    await requireAdmin(db, ws, req.userId);
    if (roster.workspaceId !== ws)
      throw new SyncRefusal('INVALID_ARGUMENT', 'the roster is for another workspace');
    if (!roster.members.some((m) => m.role === 'admin'))
      throw new SyncRefusal('SYNC_CONFLICT', 'a workspace keeps at least one admin');
    await db.transaction(async (tx) => {
      const w = await lockedWorkspace(tx, ws);
      const latest = await latestRoster(tx, ws);
      if (roster.serial !== (latest?.serial ?? 0) + 1)
        throw new SyncRefusal('SYNC_CONFLICT', 'the roster changed meanwhile; sync and try again');
      if (latest === undefined ? roster.keyVersion <= w.keyVersion : roster.keyVersion < latest.keyVersion) {
        throw new SyncRefusal(
          'INVALID_ARGUMENT',
          latest === undefined
            ? 'the first signed roster of an existing workspace asks for a new key'
            : 'a roster cannot go back to an older key',
        );
      }
      const current = await members.rolesIn(tx, ws);
      for (const m of roster.members) {
        if (!(await matchesAccount(tx, m)))
          throw new SyncRefusal('INVALID_ARGUMENT', 'the roster names keys that are not its member’s');
        const role = current.get(m.userId);
        if (role === undefined) {
          const invite = await acceptedInvite(tx, ws, m.userId);
          if (latest === undefined || invite === undefined)
            throw new SyncRefusal('INVITE_NOT_FOUND', 'no accepted invite for a member the roster admits');
          const grant = checkGrant(
            grants.find((g) => g.recipient === m.userId),
            ws,
            m.userId,
            w.keyVersion,
          );
          await members.insertMember(tx, m.userId, m.role, grant);
          await markDone(tx, invite);
        } else if (role !== m.role) {
          await members.setRole(tx, ws, m.userId, m.role);
        }
      }
      const listed = new Set(roster.members.map((m) => m.userId));
      for (const gone of [...current.keys()].filter((u) => !listed.has(u))) {
        await members.removeMember(tx, ws, gone);
        await deleteInvitesOf(tx, ws, gone);
      }
      if (roster.keyVersion > w.keyVersion) await markRotationPending(tx, ws);
      await insertRoster(tx, roster);
    });
    return reply.status(204).send();
  });

  // Key rotation, done by an admin client to the key version the newest roster asks for: the new key granted to
  // every member and every secret re-encrypted as its next version. All or nothing; a stale view (a member or a
  // secret changed meanwhile) is a SYNC_CONFLICT and the client starts over.
  app.post('/v1/workspaces/:ws/rotate', { bodyLimit: BULK_BODY_LIMIT }, async (req, reply) => {
    const { ws } = WorkspaceParams.parse(req.params);
    const body = RotateRequestSchema.parse(req.body);
    await requireAdmin(db, ws, req.userId);
    await db.transaction(async (tx) => {
      const w = await lockedWorkspace(tx, ws);
      const latest = await latestRoster(tx, ws);
      if (latest === undefined || body.keyVersion <= w.keyVersion || body.keyVersion !== latest.keyVersion)
        throw new SyncRefusal('SYNC_CONFLICT', 'the workspace key or its roster changed meanwhile');
      const memberIds = [...(await members.rolesIn(tx, ws)).keys()].sort();
      const grantees = body.grants.map((g) => g.recipient).sort();
      if (JSON.stringify(memberIds) !== JSON.stringify(grantees))
        throw new SyncRefusal('SYNC_CONFLICT', 'the members changed meanwhile');
      for (const g of body.grants) checkGrant(g, ws, g.recipient, body.keyVersion);
      const expected = await latestVersions(tx, ws);
      if (expected.size !== body.secrets.length)
        throw new SyncRefusal('SYNC_CONFLICT', 'the secrets changed meanwhile');
      const now = Date.now();
      for (const s of body.secrets) {
        const latestVersion = expected.get(secretKey(s.projectId, s.environment, s.name));
        if (latestVersion === undefined || latestVersion + 1 !== s.version) {
          throw new SyncRefusal('SYNC_CONFLICT', 'the secrets changed meanwhile');
        }
        await insertSecret(
          tx,
          { workspaceId: ws, projectId: s.projectId, environment: s.environment },
          { ...s, keyVersion: body.keyVersion, author: req.userId, at: now },
        );
      }
      for (const g of body.grants) await members.setGrant(tx, g);
      await finishRotation(tx, ws, body.keyVersion);
    });
    return reply.status(204).send();
  });
}
