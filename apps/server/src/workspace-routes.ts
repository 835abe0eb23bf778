import {
  CreateWorkspaceRequestSchema,
  ENVIRONMENT,
  ID,
  type KeyGrant,
  PushRequestSchema,
  RosterUpdateRequestSchema,
  RotateRequestSchema,
  type SignedRoster,
} from '@agentsecrets/sync';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Db, isUniqueViolation } from './db/db.js';
import { HttpError } from './http-error.js';
import type { RouteContext } from './route-context.js';

const VERSIONS_KEPT = 10;
// A push or a rotation carries every secret in one request, so that it is applied all or nothing.
const BULK_BODY_LIMIT = 32 * 1024 * 1024;

const wsParam = z.object({ ws: ID });
const secretsParam = z.object({ ws: ID, project: ID, env: ENVIRONMENT });

/**
 * Takes the workspace's row lock (a no-op update, portable to both engines): roster changes, rotations and pushes
 * of one workspace apply one at a time, on one instance or several.
 */
async function lockWorkspace(tx: Db, ws: string): Promise<{ keyVersion: number; rotationPending: boolean }> {
  await tx.query('UPDATE workspaces SET key_version = key_version WHERE id = $1', [ws]);
  const rows = await tx.query<{ key_version: number; rotation_pending: number }>(
    'SELECT key_version, rotation_pending FROM workspaces WHERE id = $1',
    [ws],
  );
  if (rows[0] === undefined) throw new HttpError(404, 'NOT_FOUND', 'no such workspace');
  return { keyVersion: Number(rows[0].key_version), rotationPending: Number(rows[0].rotation_pending) === 1 };
}

async function latestRoster(tx: Db, ws: string): Promise<SignedRoster | undefined> {
  const rows = await tx.query<{ body: string }>(
    'SELECT body FROM rosters WHERE workspace_id = $1 ORDER BY serial DESC LIMIT 1',
    [ws],
  );
  return rows[0] === undefined ? undefined : (JSON.parse(rows[0].body) as SignedRoster);
}

/** Refuses a grant that is not for this workspace, recipient and key version (clients check the signature). */
function checkGrant(
  grant: KeyGrant | undefined,
  ws: string,
  recipient: string,
  keyVersion: number,
): KeyGrant {
  if (
    grant === undefined ||
    grant.workspaceId !== ws ||
    grant.recipient !== recipient ||
    grant.keyVersion !== keyVersion
  ) {
    throw new HttpError(
      400,
      'INVALID_ARGUMENT',
      'each member needs a key grant for this workspace and key version',
    );
  }
  return grant;
}

/**
 * Workspaces, their signed rosters, key grants, rotations and pushes. The server cannot check a signature it has
 * no reason to trust itself — clients verify rosters and grants against admins they pinned — but it keeps its
 * member table equal to the newest roster, so authorization follows what the admins signed.
 */
export function registerWorkspaceRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { db } = ctx;

  async function userKeys(tx: Db, userId: string) {
    const rows = await tx.query<{ email: string; box_public_key: string; signing_public_key: string }>(
      'SELECT email, box_public_key, signing_public_key FROM users WHERE id = $1',
      [userId],
    );
    return rows[0];
  }

  async function matchesUser(tx: Db, m: SignedRoster['members'][number]): Promise<boolean> {
    const u = await userKeys(tx, m.userId);
    return (
      u !== undefined &&
      u.email === m.email &&
      u.box_public_key === m.boxPublicKey &&
      u.signing_public_key === m.signingPublicKey
    );
  }

  // A workspace is made by a client: its key arrives granted to its creator under a first roster listing them alone.
  app.post('/v1/workspaces', async (req, reply) => {
    const userId = await ctx.authenticate(req);
    const { id, name, roster, grant } = CreateWorkspaceRequestSchema.parse(req.body);
    const only = roster.members[0]!;
    if (
      roster.workspaceId !== id ||
      roster.serial !== 1 ||
      roster.prev !== null ||
      roster.keyVersion !== 1 ||
      roster.members.length !== 1 ||
      only.userId !== userId ||
      only.role !== 'admin' ||
      !(await matchesUser(db, only))
    ) {
      throw new HttpError(
        400,
        'INVALID_ARGUMENT',
        'the first roster lists its creator alone, as admin, with their keys',
      );
    }
    checkGrant(grant, id, userId, 1);
    try {
      await db.transaction(async (tx) => {
        await tx.query(
          'INSERT INTO workspaces (id, name, key_version, rotation_pending, created_at) VALUES ($1, $2, 1, 0, $3)',
          [id, name, Date.now()],
        );
        await tx.query(
          'INSERT INTO members (workspace_id, user_id, role, sealed_key, key_version, grant_body) VALUES ($1, $2, $3, $4, 1, $5)',
          [id, userId, 'admin', grant.sealedKey, JSON.stringify(grant)],
        );
        await tx.query('INSERT INTO rosters (workspace_id, serial, body) VALUES ($1, 1, $2)', [
          id,
          JSON.stringify(roster),
        ]);
      });
    } catch (e) {
      if (isUniqueViolation(e))
        throw new HttpError(409, 'CONFLICT', 'that workspace id is taken; generate another');
      throw e;
    }
    return reply.status(201).send({ id, name, keyVersion: 1 });
  });

  app.get('/v1/workspaces', async (req) => {
    const userId = await ctx.authenticate(req);
    const rows = await db.query<{
      id: string;
      name: string;
      role: string;
      sealed_key: string;
      key_version: number;
      rotation_pending: number;
      grant_body: string | null;
    }>(
      `SELECT w.id, w.name, m.role, m.sealed_key, m.key_version, w.rotation_pending, m.grant_body
         FROM members m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.name`,
      [userId],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      keyVersion: Number(r.key_version),
      rotationPending: Number(r.rotation_pending) === 1,
      grant: r.grant_body === null ? null : JSON.parse(r.grant_body),
      // Workspaces made before signed rosters: the bare sealed key, for `workspace upgrade` only.
      ...(r.grant_body === null ? { sealedKey: r.sealed_key } : {}),
    }));
  });

  app.get('/v1/workspaces/:ws/roster', async (req) => {
    const userId = await ctx.authenticate(req);
    const { ws } = wsParam.parse(req.params);
    await ctx.membership(ws, userId);
    const rows = await db.query<{ body: string }>(
      'SELECT body FROM rosters WHERE workspace_id = $1 ORDER BY serial',
      [ws],
    );
    return { rosters: rows.map((r) => JSON.parse(r.body)) };
  });

  // The next roster version, signed by an admin on the client. Members it admits need an accepted invite (with the
  // keys the roster names) and a grant of the current key; members it drops are removed (and may be invited again);
  // a higher key version marks the rotation that the admins asked for.
  app.put('/v1/workspaces/:ws/roster', async (req, reply) => {
    const userId = await ctx.authenticate(req);
    const { ws } = wsParam.parse(req.params);
    const { roster, grants } = RosterUpdateRequestSchema.parse(req.body);
    await ctx.requireAdmin(ws, userId);
    if (roster.workspaceId !== ws)
      throw new HttpError(400, 'INVALID_ARGUMENT', 'the roster is for another workspace');
    if (!roster.members.some((m) => m.role === 'admin'))
      throw new HttpError(409, 'CONFLICT', 'a workspace keeps at least one admin');
    await db.transaction(async (tx) => {
      const w = await lockWorkspace(tx, ws);
      const latest = await latestRoster(tx, ws);
      if (roster.serial !== (latest?.serial ?? 0) + 1)
        throw new HttpError(409, 'CONFLICT', 'the roster changed meanwhile; sync and try again');
      if (latest === undefined ? roster.keyVersion <= w.keyVersion : roster.keyVersion < latest.keyVersion) {
        throw new HttpError(
          400,
          'INVALID_ARGUMENT',
          latest === undefined
            ? 'the first signed roster of an existing workspace asks for a new key'
            : 'a roster cannot go back to an older key',
        );
      }
      const current = new Map(
        (
          await tx.query<{ user_id: string; role: string }>(
            'SELECT user_id, role FROM members WHERE workspace_id = $1',
            [ws],
          )
        ).map((r) => [r.user_id, r.role]),
      );
      for (const m of roster.members) {
        if (!(await matchesUser(tx, m)))
          throw new HttpError(400, 'INVALID_ARGUMENT', 'the roster names keys that are not its member’s');
        const role = current.get(m.userId);
        if (role === undefined) {
          const invite = await tx.query<{ id: string }>(
            `SELECT id FROM invites WHERE workspace_id = $1 AND user_id = $2 AND status = 'accepted'`,
            [ws, m.userId],
          );
          if (latest === undefined || invite[0] === undefined)
            throw new HttpError(404, 'NOT_FOUND', 'no accepted invite for a member the roster admits');
          const grant = checkGrant(
            grants.find((g) => g.recipient === m.userId),
            ws,
            m.userId,
            w.keyVersion,
          );
          await tx.query(
            'INSERT INTO members (workspace_id, user_id, role, sealed_key, key_version, grant_body) VALUES ($1, $2, $3, $4, $5, $6)',
            [ws, m.userId, m.role, grant.sealedKey, grant.keyVersion, JSON.stringify(grant)],
          );
          await tx.query(`UPDATE invites SET status = 'done' WHERE id = $1`, [invite[0].id]);
        } else if (role !== m.role) {
          await tx.query('UPDATE members SET role = $3 WHERE workspace_id = $1 AND user_id = $2', [
            ws,
            m.userId,
            m.role,
          ]);
        }
      }
      const listed = new Set(roster.members.map((m) => m.userId));
      for (const gone of [...current.keys()].filter((u) => !listed.has(u))) {
        await tx.query('DELETE FROM members WHERE workspace_id = $1 AND user_id = $2', [ws, gone]);
        await tx.query('DELETE FROM invites WHERE workspace_id = $1 AND user_id = $2', [ws, gone]);
      }
      if (roster.keyVersion > w.keyVersion)
        await tx.query('UPDATE workspaces SET rotation_pending = 1 WHERE id = $1', [ws]);
      await tx.query('INSERT INTO rosters (workspace_id, serial, body) VALUES ($1, $2, $3)', [
        ws,
        roster.serial,
        JSON.stringify(roster),
      ]);
    });
    return reply.status(204).send();
  });

  // Key rotation, done by an admin client to the key version the newest roster asks for: the new key granted to
  // every member and every secret re-encrypted as its next version. All or nothing; a stale view (a member or a
  // secret changed meanwhile) is a 409 and the client starts over.
  app.post('/v1/workspaces/:ws/rotate', { bodyLimit: BULK_BODY_LIMIT }, async (req, reply) => {
    const userId = await ctx.authenticate(req);
    const { ws } = wsParam.parse(req.params);
    const body = RotateRequestSchema.parse(req.body);
    await ctx.requireAdmin(ws, userId);
    await db.transaction(async (tx) => {
      const w = await lockWorkspace(tx, ws);
      const latest = await latestRoster(tx, ws);
      if (latest === undefined || body.keyVersion <= w.keyVersion || body.keyVersion !== latest.keyVersion)
        throw new HttpError(409, 'CONFLICT', 'the workspace key or its roster changed meanwhile');
      const members = (
        await tx.query<{ user_id: string }>('SELECT user_id FROM members WHERE workspace_id = $1', [ws])
      )
        .map((m) => m.user_id)
        .sort();
      const grantees = body.grants.map((g) => g.recipient).sort();
      if (JSON.stringify(members) !== JSON.stringify(grantees))
        throw new HttpError(409, 'CONFLICT', 'the members changed meanwhile');
      for (const g of body.grants) checkGrant(g, ws, g.recipient, body.keyVersion);
      const latestSecrets = await tx.query<{
        project_id: string;
        environment: string;
        name: string;
        v: number;
      }>(
        `SELECT project_id, environment, name, MAX(version) AS v FROM secrets WHERE workspace_id = $1 GROUP BY project_id, environment, name`,
        [ws],
      );
      const expected = new Map(
        latestSecrets.map((r) => [`${r.project_id}/${r.environment}/${r.name}`, Number(r.v) + 1]),
      );
      if (expected.size !== body.secrets.length)
        throw new HttpError(409, 'CONFLICT', 'the secrets changed meanwhile');
      for (const sec of body.secrets) {
        if (expected.get(`${sec.projectId}/${sec.environment}/${sec.name}`) !== sec.version) {
          throw new HttpError(409, 'CONFLICT', 'the secrets changed meanwhile');
        }
        await tx.query(
          `INSERT INTO secrets (workspace_id, project_id, environment, name, version, ciphertext, key_version, author, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            ws,
            sec.projectId,
            sec.environment,
            sec.name,
            sec.version,
            sec.ciphertext,
            body.keyVersion,
            userId,
            Date.now(),
          ],
        );
      }
      for (const g of body.grants) {
        await tx.query(
          'UPDATE members SET sealed_key = $3, key_version = $4, grant_body = $5 WHERE workspace_id = $1 AND user_id = $2',
          [ws, g.recipient, g.sealedKey, body.keyVersion, JSON.stringify(g)],
        );
      }
      await tx.query('UPDATE workspaces SET key_version = $2, rotation_pending = 0 WHERE id = $1', [
        ws,
        body.keyVersion,
      ]);
    });
    return reply.status(204).send();
  });

  // A push: every value names the version it creates, exactly one more than the latest. Applied all or nothing in
  // one transaction: if any base is stale (someone pushed first) nothing is written, and the answer lists the stale
  // names with their current versions. Never under a key that is due for rotation or no longer current.
  app.post('/v1/workspaces/:ws/secrets/:project/:env', { bodyLimit: BULK_BODY_LIMIT }, async (req, reply) => {
    const userId = await ctx.authenticate(req);
    const p = secretsParam.parse(req.params);
    const body = PushRequestSchema.parse(req.body);
    await ctx.membership(p.ws, userId);
    if (new Set(body.secrets.map((s) => s.name)).size !== body.secrets.length)
      throw new HttpError(400, 'INVALID_ARGUMENT', 'a push names each secret once');
    const outcome = await db.transaction(async (tx) => {
      const w = await lockWorkspace(tx, p.ws);
      if (w.rotationPending || body.keyVersion !== w.keyVersion) {
        throw new HttpError(
          409,
          'CONFLICT',
          'the workspace key changed or is due for rotation; sync again before pushing',
        );
      }
      const latest = new Map(
        (
          await tx.query<{ name: string; v: number }>(
            'SELECT name, MAX(version) AS v FROM secrets WHERE workspace_id = $1 AND project_id = $2 AND environment = $3 GROUP BY name',
            [p.ws, p.project, p.env],
          )
        ).map((r) => [r.name, Number(r.v)]),
      );
      const conflicts = body.secrets
        .filter((s) => s.version !== (latest.get(s.name) ?? 0) + 1)
        .map((s) => ({ name: s.name, current: latest.get(s.name) ?? 0 }));
      if (conflicts.length > 0) return { conflicts };
      const now = Date.now();
      for (const s of body.secrets) {
        await tx.query(
          `INSERT INTO secrets (workspace_id, project_id, environment, name, version, ciphertext, key_version, author, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [p.ws, p.project, p.env, s.name, s.version, s.ciphertext, body.keyVersion, userId, now],
        );
        await tx.query(
          'DELETE FROM secrets WHERE workspace_id = $1 AND project_id = $2 AND environment = $3 AND name = $4 AND version <= $5',
          [p.ws, p.project, p.env, s.name, s.version - VERSIONS_KEPT],
        );
      }
      return { pushed: body.secrets.length };
    });
    if ('conflicts' in outcome) {
      return reply.status(409).send({
        error: {
          code: 'VERSION_CONFLICT',
          message: `${outcome.conflicts.length} of the secrets changed since your last pull; nothing was written`,
        },
        conflicts: outcome.conflicts,
      });
    }
    return reply.status(201).send(outcome);
  });
}
