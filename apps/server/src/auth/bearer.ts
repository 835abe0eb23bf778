import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/db.js';
import { SyncRefusal } from '../errors.js';
import { sessionLive } from '../store/sessions.js';
import type { Tokens } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user: set by {@link requireBearerAuth} on every route behind it, '' elsewhere. */
    userId: string;
  }
}

/**
 * The one authentication check: every route registered in `scope` (and its child plugins) answers only to a live
 * access token — good MAC, not expired, and its session not ended — and finds its user in `req.userId`.
 */
export function requireBearerAuth(scope: FastifyInstance, deps: { db: Db; tokens: Tokens }): void {
  scope.decorateRequest('userId', '');
  scope.addHook('preHandler', async (req: FastifyRequest) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const claims = deps.tokens.verifyAccess(token);
    if (claims === undefined || !(await sessionLive(deps.db, claims.family, claims.userId))) {
      throw new SyncRefusal('UNAUTHORIZED', 'missing, invalid or expired access token');
    }
    req.userId = claims.userId;
  });
}
