import { httpStatusFor } from '@agentsecrets/errors';
import { PushRequestSchema } from '@agentsecrets/sync';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/db.js';
import { errorBody, SyncRefusal } from '../errors.js';
import {
  insertSecret,
  latestSecrets,
  latestVersions,
  pruneVersions,
  secretKey,
  versionsOf,
} from '../store/secrets.js';
import {
  BULK_BODY_LIMIT,
  lockedWorkspace,
  PlaceParams,
  requireAdmin,
  requireMember,
  SecretParams,
  WorkspaceParams,
} from './access.js';

const VERSIONS_KEPT = 10;

/** Versioned ciphertext: pulls of a project's environment, history, the rotation's view, and pushes. */
export async function secretRoutes(app: FastifyInstance, { db }: { db: Db }) {
  app.get('/v1/workspaces/:ws/secrets/:project/:env', async (req) => {
    const p = PlaceParams.parse(req.params);
    await requireMember(db, p.ws, req.userId);
    const latest = await latestSecrets(db, p.ws, {
      workspaceId: p.ws,
      projectId: p.project,
      environment: p.env,
    });
    return latest.map((s) => ({
      name: s.name,
      version: s.version,
      ciphertext: s.ciphertext,
      keyVersion: s.keyVersion,
    }));
  });

  app.get('/v1/workspaces/:ws/secrets/:project/:env/:name/versions', async (req) => {
    const p = SecretParams.parse(req.params);
    await requireMember(db, p.ws, req.userId);
    return versionsOf(db, { workspaceId: p.ws, projectId: p.project, environment: p.env }, p.name);
  });

  // Everything an admin client needs to rotate: the latest ciphertext of every secret of the workspace.
  app.get('/v1/workspaces/:ws/secrets', async (req) => {
    const { ws } = WorkspaceParams.parse(req.params);
    await requireAdmin(db, ws, req.userId);
    return latestSecrets(db, ws);
  });

  // A push: every value names the version it creates, exactly one more than the latest. Applied all or nothing in
  // one transaction: if any base is stale (someone pushed first) nothing is written, and the answer lists the stale
  // names with their current versions. Never under a key that is due for rotation or no longer current.
  app.post('/v1/workspaces/:ws/secrets/:project/:env', { bodyLimit: BULK_BODY_LIMIT }, async (req, reply) => {
    const p = PlaceParams.parse(req.params);
    const body = PushRequestSchema.parse(req.body);
    await requireMember(db, p.ws, req.userId);
    if (new Set(body.secrets.map((s) => s.name)).size !== body.secrets.length)
      throw new SyncRefusal('INVALID_ARGUMENT', 'a push names each secret once');
    const place = { workspaceId: p.ws, projectId: p.project, environment: p.env };
    const outcome = await db.transaction(async (tx) => {
      const w = await lockedWorkspace(tx, p.ws);
      if (w.rotationPending || body.keyVersion !== w.keyVersion) {
        throw new SyncRefusal(
          'SYNC_CONFLICT',
          'the workspace key changed or is due for rotation; sync again before pushing',
        );
      }
      const latest = await latestVersions(tx, p.ws, place);
      const current = (name: string) => latest.get(secretKey(p.project, p.env, name)) ?? 0;
      const conflicts = body.secrets
        .filter((s) => s.version !== current(s.name) + 1)
        .map((s) => ({ name: s.name, current: current(s.name) }));
      if (conflicts.length > 0) return { conflicts };
      const now = Date.now();
      for (const s of body.secrets) {
        await insertSecret(tx, place, { ...s, keyVersion: body.keyVersion, author: req.userId, at: now });
        await pruneVersions(tx, place, s.name, s.version - VERSIONS_KEPT);
      }
      return { pushed: body.secrets.length };
    });
    if ('conflicts' in outcome) {
      const message = `${outcome.conflicts.length} of the secrets changed since your last pull; nothing was written`;
      return reply
        .status(httpStatusFor('VERSION_CONFLICT'))
        .send({ ...errorBody('VERSION_CONFLICT', message), conflicts: outcome.conflicts });
    }
    return reply.status(201).send(outcome);
  });
}
