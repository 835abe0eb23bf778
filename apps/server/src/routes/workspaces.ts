import { CreateWorkspaceRequestSchema } from '@agentsecrets/sync';
import type { FastifyInstance } from 'fastify';
import { type Db, isUniqueViolation } from '../db/db.js';
import { SyncRefusal } from '../errors.js';
import { insertMember } from '../store/members.js';
import { insertRoster } from '../store/rosters.js';
import { insertWorkspace, workspacesOf } from '../store/workspaces.js';
import { checkGrant, matchesAccount } from './checks.js';

/** Workspaces: made by a client, listed with the caller's key grant. */
export async function workspaceRoutes(app: FastifyInstance, { db }: { db: Db }) {
  // The key arrives granted to the creator under a first roster listing them alone.
  app.post('/v1/workspaces', async (req, reply) => {
    const { id, name, roster, grant } = CreateWorkspaceRequestSchema.parse(req.body);
    const only = roster.members[0]!;
    if (
      roster.workspaceId !== id ||
      roster.serial !== 1 ||
      roster.prev !== null ||
      roster.keyVersion !== 1 ||
      roster.members.length !== 1 ||
      only.userId !== req.userId ||
      only.role !== 'admin' ||
      !(await matchesAccount(db, only))
    ) {
      throw new SyncRefusal(
        'INVALID_ARGUMENT',
        'the first roster lists its creator alone, as admin, with their keys',
      );
    }
    checkGrant(grant, id, req.userId, 1);
    try {
      await db.transaction(async (tx) => {
        await insertWorkspace(tx, id, name);
        await insertMember(tx, req.userId, 'admin', grant);
        await insertRoster(tx, roster);
      });
    } catch (e) {
      if (isUniqueViolation(e))
        throw new SyncRefusal('SYNC_CONFLICT', 'that workspace id is taken; generate another');
      throw e;
    }
    return reply.status(201).send({ id, name, keyVersion: 1 });
  });

  app.get('/v1/workspaces', async (req) => workspacesOf(db, req.userId));
}
