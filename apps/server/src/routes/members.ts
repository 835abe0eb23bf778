import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/db.js';
import { membersOf } from '../store/members.js';
import { requireMember, WorkspaceParams } from './access.js';

/** The members as the server's table has them (clients trust the signed roster, not this list). */
export async function memberRoutes(app: FastifyInstance, { db }: { db: Db }) {
  app.get('/v1/workspaces/:ws/members', async (req) => {
    const { ws } = WorkspaceParams.parse(req.params);
    await requireMember(db, ws, req.userId);
    return membersOf(db, ws);
  });
}
