import { PolicyUploadSchema } from '@agentsecrets/sync';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/db.js';
import { SyncRefusal } from '../errors.js';
import { policySerial, savePolicy, storedPolicy } from '../store/policies.js';
import { requireAdmin, requireMember, WorkspaceParams } from './access.js';

const POLICY_LIMIT = 256 * 1024;

/**
 * The team policy is signed by an admin's key on the client; the server only keeps the newest one. Clients verify
 * the signature against admin keys they pinned, so the server cannot widen where credentials may go.
 */
export async function policyRoutes(app: FastifyInstance, { db }: { db: Db }) {
  app.put('/v1/workspaces/:ws/policy', async (req, reply) => {
    const { ws } = WorkspaceParams.parse(req.params);
    const { policy } = PolicyUploadSchema.parse(req.body);
    await requireAdmin(db, ws, req.userId);
    if (policy.workspaceId !== ws)
      throw new SyncRefusal('INVALID_ARGUMENT', 'the policy is for another workspace');
    const body = JSON.stringify(policy);
    if (body.length > POLICY_LIMIT) throw new SyncRefusal('REQUEST_TOO_LARGE', 'the policy is too large');
    await db.transaction(async (tx) => {
      const serial = await policySerial(tx, ws);
      if (serial !== undefined && serial >= policy.serial) {
        throw new SyncRefusal('SYNC_CONFLICT', 'a newer policy was stored meanwhile');
      }
      await savePolicy(tx, ws, policy.serial, body, serial !== undefined);
    });
    return reply.status(204).send();
  });

  app.get('/v1/workspaces/:ws/policy', async (req) => {
    const { ws } = WorkspaceParams.parse(req.params);
    await requireMember(db, ws, req.userId);
    return { policy: await storedPolicy(db, ws) };
  });
}
