import Fastify, { type FastifyInstance } from 'fastify';
import { requireBearerAuth } from './auth/bearer.js';
import { createTokens } from './auth/tokens.js';
import type { Db } from './db/db.js';
import { handleError, handleNotFound } from './errors.js';
import { authRoutes } from './routes/auth.js';
import { inviteRoutes } from './routes/invites.js';
import { memberRoutes } from './routes/members.js';
import { policyRoutes } from './routes/policy.js';
import { rosterRoutes } from './routes/roster.js';
import { secretRoutes } from './routes/secrets.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { serverSecret } from './store/meta.js';

/** Options of {@link buildServer}. */
export interface ServerOptions {
  readonly db: Db;
  /** Structured request logs (never bodies, tokens or emails). Default off. */
  readonly logger?: boolean | { stream: NodeJS.WritableStream };
  /** Auth attempts per email/IP per minute before 429. Default 10. */
  readonly authRateLimit?: number;
}

/**
 * The sync server's HTTP API. It stores ciphertext, public keys and slow hashes of authentication keys; it never
 * receives a password or a value. All state is in the database, so several instances can share one PostgreSQL.
 *
 * One plugin per resource (`routes/*.ts`, SQL in `store/*.ts`); every route but the account ones sits behind the
 * one bearer-token check (`auth/bearer.ts`); every error becomes an answer in one place (`errors.ts`).
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { db } = options;
  const secret = await serverSecret(db);
  if (secret === undefined) throw new Error('the database is not migrated');
  const tokens = createTokens(secret);

  const app = Fastify({
    bodyLimit: 1024 * 1024,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    logger:
      options.logger === undefined || options.logger === false
        ? false
        : {
            level: 'info',
            ...(typeof options.logger === 'object' ? { stream: options.logger.stream } : {}),
            // Only method, route and status: no bodies, no query strings, no headers (tokens), no emails.
            serializers: {
              req: (req: { method: string; routeOptions?: { url?: string | undefined } }) => ({
                method: req.method,
                route: req.routeOptions?.url,
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
          },
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);

  app.get('/health', async () => ({ status: 'ok' }));
  await app.register(authRoutes, { db, tokens, rateLimit: options.authRateLimit ?? 10 });
  await app.register(async (authenticated) => {
    requireBearerAuth(authenticated, { db, tokens });
    await authenticated.register(workspaceRoutes, { db });
    await authenticated.register(rosterRoutes, { db });
    await authenticated.register(secretRoutes, { db });
    await authenticated.register(inviteRoutes, { db });
    await authenticated.register(memberRoutes, { db });
    await authenticated.register(policyRoutes, { db });
  });
  return app;
}
