import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { EMAIL } from '@agentsecrets/sync';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Db, isUniqueViolation } from './db/db.js';
import { HttpError } from './http-error.js';
import type { RouteContext } from './route-context.js';
import { registerWorkspaceRoutes } from './workspace-routes.js';

const scryptAsync = promisify(scrypt) as (
  password: Buffer,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>;

const B64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/)
  .max(4096);
const ID = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/);
const KDF = z.object({
  salt: B64,
  params: z.object({
    memoryKiB: z.number().int(),
    iterations: z.number().int(),
    parallelism: z.number().int(),
  }),
});
const DEFAULT_KDF_PARAMS = { memoryKiB: 65536, iterations: 3, parallelism: 4 };
const ACCESS_TTL_MS = 15 * 60 * 1000;
const REFRESH_TTL_MS = 30 * 24 * 3600 * 1000;
// scrypt: N=2^15, r=8 (32 MiB) — the slow hash of the client's authentication key.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

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
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { db } = options;
  const secretRow = await db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [
    'server_secret',
  ]);
  if (secretRow.length === 0) throw new Error('the database is not migrated');
  const serverSecret = Buffer.from(secretRow[0]!.value, 'base64');
  const authLimit = options.authRateLimit ?? 10;

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

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (error instanceof HttpError) {
      return reply.status(error.status).send({ error: { code: error.code, message: error.message } });
    }
    if (error instanceof z.ZodError) {
      const where = error.issues[0]?.path.join('.') || 'body';
      return reply
        .status(400)
        .send({ error: { code: 'INVALID_ARGUMENT', message: `invalid field: ${where}` } });
    }
    // PostgreSQL data exceptions (class 22: a NUL in text, a value out of range) are bad input, not a fault.
    const pgDataError = typeof error.code === 'string' && /^22[0-9A-Z]{3}$/.test(error.code);
    const status = pgDataError ? 400 : error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    const code = status === 413 ? 'REQUEST_TOO_LARGE' : status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL_ERROR';
    return reply
      .status(status)
      .send({ error: { code, message: status < 500 ? 'the request was not understood' : 'internal error' } });
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.status(404).send({ error: { code: 'ROUTE_NOT_FOUND', message: 'no such route' } }),
  );

  const hmac = (label: string, data: string) =>
    createHmac('sha256', serverSecret).update(`${label}\n${data}`).digest();

  async function rateLimit(bucket: string): Promise<void> {
    const now = Date.now();
    const window = now - (now % 60_000);
    const key = sha256(bucket);
    const hits = await db.transaction(async (tx) => {
      const row = await tx.query<{ window_start: number; hits: number }>(
        'SELECT window_start, hits FROM rate_limits WHERE bucket = $1',
        [key],
      );
      const current =
        row[0] !== undefined && Number(row[0].window_start) === window ? Number(row[0].hits) + 1 : 1;
      if (row[0] === undefined)
        await tx.query('INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, $3)', [
          key,
          window,
          current,
        ]);
      else
        await tx.query('UPDATE rate_limits SET window_start = $2, hits = $3 WHERE bucket = $1', [
          key,
          window,
          current,
        ]);
      return current;
    });
    if (hits > authLimit) throw new HttpError(429, 'RATE_LIMITED', 'too many attempts; wait a minute');
  }

  async function slowHash(authKey: Buffer, salt: Buffer): Promise<Buffer> {
    return scryptAsync(authKey, salt, 32, SCRYPT);
  }

  // An access token names its session (the refresh token family): it is good until it expires or, at once, until
  // the session ends (logout, or a refresh token presented twice).
  function accessToken(userId: string, family: string): string {
    const expires = Date.now() + ACCESS_TTL_MS;
    const body = `v2.${userId}.${family}.${expires}`;
    return `${body}.${hmac('access', body).toString('base64url')}`;
  }

  async function authenticate(req: { headers: { authorization?: string | undefined } }): Promise<string> {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const parts = token.split('.');
    if (parts.length === 5 && parts[0] === 'v2') {
      const body = parts.slice(0, 4).join('.');
      const mac = Buffer.from(parts[4]!, 'base64url');
      const expected = hmac('access', body);
      if (mac.length === expected.length && timingSafeEqual(mac, expected) && Number(parts[3]) > Date.now()) {
        const session = await db.query<{ revoked: number }>(
          'SELECT revoked FROM refresh_families WHERE family = $1 AND user_id = $2',
          [parts[2], parts[1]],
        );
        if (session[0] !== undefined && Number(session[0].revoked) === 0) return parts[1]!;
      }
    }
    throw new HttpError(401, 'UNAUTHORIZED', 'missing, invalid or expired access token');
  }

  /** Ends a session: its family and every refresh token of it. Access tokens of it stop working at once. */
  async function revokeFamily(tx: Db, family: string): Promise<void> {
    await tx.query('UPDATE refresh_families SET revoked = 1 WHERE family = $1', [family]);
    await tx.query('UPDATE refresh_tokens SET revoked = 1 WHERE family = $1', [family]);
  }

  async function issueRefresh(tx: Db, userId: string, family: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await tx.query(
      'INSERT INTO refresh_tokens (token_hash, user_id, family, used, revoked, expires_at) VALUES ($1, $2, $3, 0, 0, $4)',
      [sha256(token), userId, family, Date.now() + REFRESH_TTL_MS],
    );
    return token;
  }

  async function membership(workspaceId: string, userId: string) {
    const rows = await db.query<{ role: string; key_version: number }>(
      'SELECT role, key_version FROM members WHERE workspace_id = $1 AND user_id = $2',
      [workspaceId, userId],
    );
    if (rows[0] === undefined) throw new HttpError(404, 'NOT_FOUND', 'no such workspace');
    return rows[0];
  }

  app.get('/health', async () => ({ status: 'ok' }));

  // An unknown email gets a stable, plausible offer derived from the server secret: the answer never tells whether
  // an account exists.
  app.post('/v1/auth/prelogin', async (req) => {
    const { email } = z.object({ email: EMAIL }).parse(req.body);
    const rows = await db.query<{ kdf: string }>('SELECT kdf FROM users WHERE email = $1', [email]);
    if (rows[0] !== undefined) return JSON.parse(rows[0].kdf);
    return { salt: hmac('fake-salt', email).subarray(0, 16).toString('base64'), params: DEFAULT_KDF_PARAMS };
  });

  // Sign-up answers the same whether or not the email is taken; an existing account is left as it is.
  app.post('/v1/auth/signup', async (req, reply) => {
    const body = z
      .object({
        // Ids are chosen by the client (random), so the keys it seals can be bound to them before sign-up.
        userId: z.string().regex(/^usr_[A-Za-z0-9_-]{16,64}$/),
        email: EMAIL,
        authKey: B64,
        kdf: KDF,
        keys: z.object({ boxPublicKey: B64, signingPublicKey: B64, sealedPrivateKeys: B64 }),
      })
      .parse(req.body);
    await rateLimit(`signup:${req.ip}`);
    const salt = randomBytes(16);
    const hash = await slowHash(Buffer.from(body.authKey, 'base64'), salt);
    try {
      await db.query(
        `INSERT INTO users (id, email, auth_hash, kdf, box_public_key, signing_public_key, sealed_private_keys, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          body.userId,
          body.email,
          `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`,
          JSON.stringify(body.kdf),
          body.keys.boxPublicKey,
          body.keys.signingPublicKey,
          body.keys.sealedPrivateKeys,
          Date.now(),
        ],
      );
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
    return reply.status(202).send({ status: 'accepted' });
  });

  app.post('/v1/auth/login', async (req) => {
    const { email, authKey } = z.object({ email: EMAIL, authKey: B64 }).parse(req.body);
    await rateLimit(`login:${email}`);
    await rateLimit(`login-ip:${req.ip}`);
    const rows = await db.query<{
      id: string;
      auth_hash: string;
      box_public_key: string;
      signing_public_key: string;
      sealed_private_keys: string;
    }>(
      'SELECT id, auth_hash, box_public_key, signing_public_key, sealed_private_keys FROM users WHERE email = $1',
      [email],
    );
    const user = rows[0];
    const [, saltText, hashText] = (
      user?.auth_hash ?? `scrypt$${hmac('dummy', email).toString('base64')}$`
    ).split('$');
    // The slow hash runs for unknown emails too, so timing does not tell them apart.
    const computed = await slowHash(Buffer.from(authKey, 'base64'), Buffer.from(saltText ?? '', 'base64'));
    const stored = Buffer.from(hashText ?? '', 'base64');
    if (user === undefined || stored.length !== computed.length || !timingSafeEqual(stored, computed)) {
      throw new HttpError(401, 'INVALID_CREDENTIALS', 'wrong email or password');
    }
    const family = randomBytes(12).toString('base64url');
    const refreshToken = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO refresh_families (family, user_id, revoked) VALUES ($1, $2, 0)', [
        family,
        user.id,
      ]);
      return issueRefresh(tx, user.id, family);
    });
    return {
      userId: user.id,
      accessToken: accessToken(user.id, family),
      refreshToken,
      keys: {
        boxPublicKey: user.box_public_key,
        signingPublicKey: user.signing_public_key,
        sealedPrivateKeys: user.sealed_private_keys,
      },
    };
  });

  // Refresh tokens rotate on every use; presenting one that was already used ends its whole session (someone else
  // has a copy), including any token issued meanwhile. Refreshes of one session take the session's row lock first,
  // so of several racing with the same token exactly one wins, on one instance or several.
  app.post('/v1/auth/refresh', async (req) => {
    const { refreshToken } = z.object({ refreshToken: z.string().max(200) }).parse(req.body);
    const hash = sha256(refreshToken);
    const outcome = await db.transaction(async (tx) => {
      const owner = await tx.query<{ family: string }>(
        'SELECT family FROM refresh_tokens WHERE token_hash = $1',
        [hash],
      );
      if (owner[0] === undefined) return 'invalid' as const;
      const family = owner[0].family;
      // A no-op update: the row lock that serializes this session's refreshes (portable to both engines).
      const session = await tx.query<{ revoked: number }>(
        'UPDATE refresh_families SET revoked = revoked WHERE family = $1 RETURNING revoked',
        [family],
      );
      if (session[0] === undefined || Number(session[0].revoked) === 1) return 'invalid' as const;
      // Read again under the lock: a refresh that won the race meanwhile is visible now.
      const rows = await tx.query<{ user_id: string; used: number; revoked: number; expires_at: number }>(
        'SELECT user_id, used, revoked, expires_at FROM refresh_tokens WHERE token_hash = $1',
        [hash],
      );
      const row = rows[0];
      if (row === undefined || Number(row.revoked) === 1 || Number(row.expires_at) < Date.now())
        return 'invalid' as const;
      if (Number(row.used) === 1) {
        // Committed before answering: the revocation must survive the refusal.
        await revokeFamily(tx, family);
        return 'reused' as const;
      }
      await tx.query('UPDATE refresh_tokens SET used = 1 WHERE token_hash = $1', [hash]);
      return {
        accessToken: accessToken(row.user_id, family),
        refreshToken: await issueRefresh(tx, row.user_id, family),
      };
    });
    if (outcome === 'invalid')
      throw new HttpError(401, 'UNAUTHORIZED', 'the refresh token is not valid; log in again');
    if (outcome === 'reused') {
      throw new HttpError(
        401,
        'TOKEN_REUSED',
        'this refresh token was already used; every session of it is revoked',
      );
    }
    return outcome;
  });

  // Logout ends the session at once: its refresh tokens and its access tokens.
  app.post('/v1/auth/logout', async (req, reply) => {
    const { refreshToken } = z.object({ refreshToken: z.string().max(200) }).parse(req.body);
    const rows = await db.query<{ family: string }>(
      'SELECT family FROM refresh_tokens WHERE token_hash = $1',
      [sha256(refreshToken)],
    );
    if (rows[0] !== undefined) await db.transaction((tx) => revokeFamily(tx, rows[0]!.family));
    return reply.status(204).send();
  });

  const secretPath = z.object({
    ws: ID,
    project: ID,
    env: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
    name: NAME,
  });

  app.get('/v1/workspaces/:ws/secrets/:project/:env', async (req) => {
    const userId = await authenticate(req);
    const p = secretPath.omit({ name: true }).parse(req.params);
    await membership(p.ws, userId);
    const rows = await db.query<{ name: string; version: number; ciphertext: string; key_version: number }>(
      `SELECT s.name, s.version, s.ciphertext, s.key_version FROM secrets s
         WHERE s.workspace_id = $1 AND s.project_id = $2 AND s.environment = $3
           AND s.version = (SELECT MAX(version) FROM secrets t WHERE t.workspace_id = s.workspace_id
             AND t.project_id = s.project_id AND t.environment = s.environment AND t.name = s.name)
         ORDER BY s.name`,
      [p.ws, p.project, p.env],
    );
    return rows.map((r) => ({
      name: r.name,
      version: Number(r.version),
      ciphertext: r.ciphertext,
      keyVersion: Number(r.key_version),
    }));
  });

  app.get('/v1/workspaces/:ws/secrets/:project/:env/:name/versions', async (req) => {
    const userId = await authenticate(req);
    const p = secretPath.parse(req.params);
    await membership(p.ws, userId);
    const rows = await db.query<{
      version: number;
      ciphertext: string;
      key_version: number;
      created_at: number;
    }>(
      `SELECT version, ciphertext, key_version, created_at FROM secrets
         WHERE workspace_id = $1 AND project_id = $2 AND environment = $3 AND name = $4 ORDER BY version DESC`,
      [p.ws, p.project, p.env, p.name],
    );
    return rows.map((r) => ({
      version: Number(r.version),
      ciphertext: r.ciphertext,
      keyVersion: Number(r.key_version),
      createdAt: Number(r.created_at),
    }));
  });

  async function requireAdmin(workspaceId: string, userId: string): Promise<void> {
    if ((await membership(workspaceId, userId)).role !== 'admin') {
      throw new HttpError(403, 'FORBIDDEN', 'only an admin of the workspace can do that');
    }
  }

  const wsParam = z.object({ ws: ID });

  // Inviting answers the same whether or not the email has an account. The invitee accepts by publishing their
  // public keys to the invite; an admin then checks the fingerprint out of band and seals the workspace key to it.
  app.post('/v1/workspaces/:ws/invites', async (req, reply) => {
    const userId = await authenticate(req);
    const { ws } = wsParam.parse(req.params);
    const { email } = z.object({ email: EMAIL }).parse(req.body);
    await requireAdmin(ws, userId);
    try {
      await db.query(
        'INSERT INTO invites (id, workspace_id, email, invited_by, user_id, status, created_at) VALUES ($1, $2, $3, $4, NULL, $5, $6)',
        [`inv_${randomBytes(12).toString('base64url')}`, ws, email, userId, 'pending', Date.now()],
      );
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
    return reply.status(202).send({ status: 'invited' });
  });

  app.get('/v1/workspaces/:ws/invites', async (req) => {
    const userId = await authenticate(req);
    const { ws } = wsParam.parse(req.params);
    await requireAdmin(ws, userId);
    const rows = await db.query<{
      id: string;
      email: string;
      status: string;
      user_id: string | null;
      box_public_key: string | null;
      signing_public_key: string | null;
    }>(
      `SELECT i.id, i.email, i.status, i.user_id, u.box_public_key, u.signing_public_key
         FROM invites i LEFT JOIN users u ON u.id = i.user_id WHERE i.workspace_id = $1 AND i.status <> 'done' ORDER BY i.created_at`,
      [ws],
    );
    return rows.map((r) => ({
      id: r.id,
      email: r.email,
      status: r.status,
      userId: r.user_id,
      boxPublicKey: r.box_public_key,
      signingPublicKey: r.signing_public_key,
    }));
  });

  app.get('/v1/invites', async (req) => {
    const userId = await authenticate(req);
    const rows = await db.query<{ id: string; workspace_id: string; name: string; status: string }>(
      `SELECT i.id, i.workspace_id, w.name, i.status FROM invites i JOIN users u ON u.email = i.email
         JOIN workspaces w ON w.id = i.workspace_id WHERE u.id = $1 AND i.status <> 'done'`,
      [userId],
    );
    return rows.map((r) => ({
      id: r.id,
      workspaceId: r.workspace_id,
      workspaceName: r.name,
      status: r.status,
    }));
  });

  app.post('/v1/invites/:id/accept', async (req, reply) => {
    const userId = await authenticate(req);
    const { id } = z.object({ id: ID }).parse(req.params);
    const rows = await db.query<{ id: string }>(
      `SELECT i.id FROM invites i JOIN users u ON u.email = i.email WHERE i.id = $1 AND u.id = $2 AND i.status = 'pending'`,
      [id, userId],
    );
    if (rows[0] === undefined) throw new HttpError(404, 'NOT_FOUND', 'no such invite');
    await db.query(`UPDATE invites SET status = 'accepted', user_id = $2 WHERE id = $1`, [id, userId]);
    return reply.status(204).send();
  });

  app.get('/v1/workspaces/:ws/members', async (req) => {
    const userId = await authenticate(req);
    const { ws } = wsParam.parse(req.params);
    await membership(ws, userId);
    const rows = await db.query<{
      user_id: string;
      email: string;
      role: string;
      box_public_key: string;
      signing_public_key: string;
    }>(
      `SELECT m.user_id, u.email, m.role, u.box_public_key, u.signing_public_key FROM members m
         JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY u.email`,
      [ws],
    );
    return rows.map((r) => ({
      userId: r.user_id,
      email: r.email,
      role: r.role,
      boxPublicKey: r.box_public_key,
      signingPublicKey: r.signing_public_key,
    }));
  });

  // Everything an admin client needs to rotate: the latest ciphertext of every secret of the workspace.
  app.get('/v1/workspaces/:ws/secrets', async (req) => {
    const userId = await authenticate(req);
    const { ws } = wsParam.parse(req.params);
    await requireAdmin(ws, userId);
    const rows = await db.query<{
      project_id: string;
      environment: string;
      name: string;
      version: number;
      ciphertext: string;
      key_version: number;
    }>(
      `SELECT s.project_id, s.environment, s.name, s.version, s.ciphertext, s.key_version FROM secrets s
         WHERE s.workspace_id = $1 AND s.version = (SELECT MAX(version) FROM secrets t WHERE t.workspace_id = s.workspace_id
           AND t.project_id = s.project_id AND t.environment = s.environment AND t.name = s.name)`,
      [ws],
    );
    return rows.map((r) => ({
      projectId: r.project_id,
      environment: r.environment,
      name: r.name,
      version: Number(r.version),
      ciphertext: r.ciphertext,
      keyVersion: Number(r.key_version),
    }));
  });

  // The team policy is signed by an admin's key on the client; the server only keeps the newest one. Clients verify
  // the signature against admin keys they pinned, so the server cannot widen where credentials may go.
  app.put('/v1/workspaces/:ws/policy', async (req, reply) => {
    const userId = await authenticate(req);
    const { ws } = wsParam.parse(req.params);
    const { policy } = z
      .object({ policy: z.object({ workspaceId: ID, serial: z.number().int().min(1) }).passthrough() })
      .parse(req.body);
    await requireAdmin(ws, userId);
    if (policy.workspaceId !== ws)
      throw new HttpError(400, 'INVALID_ARGUMENT', 'the policy is for another workspace');
    const body = JSON.stringify(policy);
    if (body.length > 256 * 1024) throw new HttpError(413, 'REQUEST_TOO_LARGE', 'the policy is too large');
    await db.transaction(async (tx) => {
      const current = await tx.query<{ serial: number }>(
        'SELECT serial FROM policies WHERE workspace_id = $1',
        [ws],
      );
      if (current[0] !== undefined && Number(current[0].serial) >= policy.serial) {
        throw new HttpError(409, 'CONFLICT', 'a newer policy was stored meanwhile');
      }
      if (current[0] === undefined)
        await tx.query('INSERT INTO policies (workspace_id, serial, body) VALUES ($1, $2, $3)', [
          ws,
          policy.serial,
          body,
        ]);
      else
        await tx.query('UPDATE policies SET serial = $2, body = $3 WHERE workspace_id = $1', [
          ws,
          policy.serial,
          body,
        ]);
    });
    return reply.status(204).send();
  });

  app.get('/v1/workspaces/:ws/policy', async (req) => {
    const userId = await authenticate(req);
    const { ws } = wsParam.parse(req.params);
    await membership(ws, userId);
    const rows = await db.query<{ body: string }>('SELECT body FROM policies WHERE workspace_id = $1', [ws]);
    return { policy: rows[0] === undefined ? null : JSON.parse(rows[0].body) };
  });

  const context: RouteContext = { db, authenticate, membership, requireAdmin };
  registerWorkspaceRoutes(app, context);

  return app;
}
