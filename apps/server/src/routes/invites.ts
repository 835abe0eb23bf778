import { randomBytes } from 'node:crypto';
import { ID, InviteRequestSchema } from '@agentsecrets/sync';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Db, isUniqueViolation } from '../db/db.js';
import { SyncRefusal } from '../errors.js';
import { insertInvite, invitesFor, invitesOf, markAccepted } from '../store/invites.js';
import { requireAdmin, WorkspaceParams } from './access.js';

/**
 * Invites. Inviting answers the same whether or not the email has an account. The invitee accepts by publishing
 * their public keys to the invite; an admin then checks the fingerprint out of band and admits them in a roster.
 */
export async function inviteRoutes(app: FastifyInstance, { db }: { db: Db }) {
  app.post('/v1/workspaces/:ws/invites', async (req, reply) => {
    const { ws } = WorkspaceParams.parse(req.params);
    const { email } = InviteRequestSchema.parse(req.body);
    await requireAdmin(db, ws, req.userId);
    try {
      const id = `inv_${randomBytes(12).toString('base64url')}`;
      await insertInvite(db, { id, workspaceId: ws, email, invitedBy: req.userId });
    } catch (e) {
      // Already invited: the same answer.
      if (!isUniqueViolation(e)) throw e;
    }
    return reply.status(202).send({ status: 'invited' });
  });

  app.get('/v1/workspaces/:ws/invites', async (req) => {
    const { ws } = WorkspaceParams.parse(req.params);
    await requireAdmin(db, ws, req.userId);
    return invitesOf(db, ws);
  });

  app.get('/v1/invites', async (req) => invitesFor(db, req.userId));

  app.post('/v1/invites/:id/accept', async (req, reply) => {
    const { id } = z.object({ id: ID }).parse(req.params);
    const invite = (await invitesFor(db, req.userId)).find((i) => i.id === id && i.status === 'pending');
    if (invite === undefined) throw new SyncRefusal('INVITE_NOT_FOUND', 'no such invite');
    await markAccepted(db, id, req.userId);
    return reply.status(204).send();
  });
}
