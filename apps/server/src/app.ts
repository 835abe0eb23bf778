import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Db, isUniqueViolation } from './db/db.js';

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
const EMAIL = z
  .string()
  .min(3)
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+$/)
  .transform((e) => e.toLowerCase());
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
const VERSIONS_KEPT = 10;
// scrypt: N=2^15, r=8 (32 MiB) — the slow hash of the client's authentication key.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** A uniform error: `{"error": {"code", "message"}}` with a status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

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
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
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

  function accessToken(userId: string): string {
    const expires = Date.now() + ACCESS_TTL_MS;
    const body = `v1.${userId}.${expires}`;
    return `${body}.${hmac('access', body).toString('base64url')}`;
  }

  function authenticate(req: { headers: { authorization?: string | undefined } }): string {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const parts = token.split('.');
    if (parts.length === 4 && parts[0] === 'v1') {
      const body = parts.slice(0, 3).join('.');
      const mac = Buffer.from(parts[3]!, 'base64url');
      const expected = hmac('access', body);
      if (mac.length === expected.length && timingSafeEqual(mac, expected) && Number(parts[2]) > Date.now())
        return parts[1]!;
    }
    throw new HttpError(401, 'UNAUTHORIZED', 'missing, invalid or expired access token');
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
    const refreshToken = await db.transaction((tx) =>
      issueRefresh(tx, user.id, randomBytes(12).toString('base64url')),
    );
    return {
      userId: user.id,
      accessToken: accessToken(user.id),
      refreshToken,
      keys: {
        boxPublicKey: user.box_public_key,
        signingPublicKey: user.signing_public_key,
        sealedPrivateKeys: user.sealed_private_keys,
      },
    };
  });

  // Refresh tokens rotate on every use; presenting one that was already used revokes its whole family (someone
  // else has a copy).
  app.post('/v1/auth/refresh', async (req) => {
    const { refreshToken } = z.object({ refreshToken: z.string().max(200) }).parse(req.body);
    const outcome = await db.transaction(async (tx) => {
      const rows = await tx.query<{
        user_id: string;
        family: string;
        used: number;
        revoked: number;
        expires_at: number;
      }>('SELECT user_id, family, used, revoked, expires_at FROM refresh_tokens WHERE token_hash = $1', [
        sha256(refreshToken),
      ]);
      const row = rows[0];
      if (row === undefined || Number(row.revoked) === 1 || Number(row.expires_at) < Date.now())
        return 'invalid' as const;
      if (Number(row.used) === 1) {
        // Committed before answering: the revocation must survive the refusal.
        await tx.query('UPDATE refresh_tokens SET revoked = 1 WHERE family = $1', [row.family]);
        return 'reused' as const;
      }
      await tx.query('UPDATE refresh_tokens SET used = 1 WHERE token_hash = $1', [sha256(refreshToken)]);
      return {
        accessToken: accessToken(row.user_id),
        refreshToken: await issueRefresh(tx, row.user_id, row.family),
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

  app.post('/v1/auth/logout', async (req, reply) => {
    const { refreshToken } = z.object({ refreshToken: z.string().max(200) }).parse(req.body);
    const rows = await db.query<{ family: string }>(
      'SELECT family FROM refresh_tokens WHERE token_hash = $1',
      [sha256(refreshToken)],
    );
    if (rows[0] !== undefined)
      await db.query('UPDATE refresh_tokens SET revoked = 1 WHERE family = $1', [rows[0].family]);
    return reply.status(204).send();
  });

  // A workspace key is made by the client and arrives sealed to its creator; the server never sees it in clear.
  app.post('/v1/workspaces', async (req, reply) => {
    const userId = authenticate(req);
    const { id, name, sealedKey } = z
      .object({
        id: z.string().regex(/^ws_[A-Za-z0-9_-]{16,64}$/),
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
        sealedKey: B64,
      })
      .parse(req.body);
    const taken = await db.query('SELECT id FROM workspaces WHERE id = $1', [id]);
    if (taken.length > 0)
      throw new HttpError(409, 'CONFLICT', 'that workspace id is taken; generate another');
    await db.transaction(async (tx) => {
      await tx.query(
        'INSERT INTO workspaces (id, name, key_version, rotation_pending, created_at) VALUES ($1, $2, 1, 0, $3)',
        [id, name, Date.now()],
      );
      await tx.query(
        'INSERT INTO members (workspace_id, user_id, role, sealed_key, key_version) VALUES ($1, $2, $3, $4, 1)',
        [id, userId, 'admin', sealedKey],
      );
    });
    return reply.status(201).send({ id, name, keyVersion: 1 });
  });

  app.get('/v1/workspaces', async (req) => {
    const userId = authenticate(req);
    const rows = await db.query<{
      id: string;
      name: string;
      role: string;
      sealed_key: string;
      key_version: number;
      rotation_pending: number;
    }>(
      `SELECT w.id, w.name, m.role, m.sealed_key, m.key_version, w.rotation_pending
         FROM members m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.name`,
      [userId],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      sealedKey: r.sealed_key,
      keyVersion: Number(r.key_version),
      rotationPending: Number(r.rotation_pending) === 1,
    }));
  });

  const secretPath = z.object({
    ws: ID,
    project: ID,
    env: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
    name: NAME,
  });

  // Each write names the version it creates: exactly one more than the latest. A stale write (someone else pushed
  // first) is a 409 with the current version, so the client can show a diff; two writers of the same version race
  // on the primary key and exactly one wins, on one instance or several.
  app.put('/v1/workspaces/:ws/secrets/:project/:env/:name', async (req, reply) => {
    const userId = authenticate(req);
    const p = secretPath.parse(req.params);
    const body = z
      .object({ ciphertext: B64, version: z.number().int().min(1), keyVersion: z.number().int().min(1) })
      .parse(req.body);
    await membership(p.ws, userId);
    const latestRows = await db.query<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM secrets WHERE workspace_id = $1 AND project_id = $2 AND environment = $3 AND name = $4',
      [p.ws, p.project, p.env, p.name],
    );
    const latest = Number(latestRows[0]?.v ?? 0);
    const conflict = () =>
      reply.status(409).send({
        error: {
          code: 'VERSION_CONFLICT',
          message: `${p.name} is at version ${latest}, not ${body.version - 1}`,
        },
        current: latest,
      });
    if (body.version !== latest + 1) return conflict();
    try {
      await db.query(
        `INSERT INTO secrets (workspace_id, project_id, environment, name, version, ciphertext, key_version, author, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [p.ws, p.project, p.env, p.name, body.version, body.ciphertext, body.keyVersion, userId, Date.now()],
      );
    } catch (e) {
      if (isUniqueViolation(e))
        return reply.status(409).send({
          error: { code: 'VERSION_CONFLICT', message: `${p.name} was just written by someone else` },
          current: body.version,
        });
      throw e;
    }
    await db.query(
      'DELETE FROM secrets WHERE workspace_id = $1 AND project_id = $2 AND environment = $3 AND name = $4 AND version <= $5',
      [p.ws, p.project, p.env, p.name, body.version - VERSIONS_KEPT],
    );
    return reply.status(201).send({ name: p.name, version: body.version });
  });

  app.get('/v1/workspaces/:ws/secrets/:project/:env', async (req) => {
    const userId = authenticate(req);
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
    const userId = authenticate(req);
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
    const userId = authenticate(req);
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
    const userId = authenticate(req);
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
    const userId = authenticate(req);
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
    const userId = authenticate(req);
    const { id } = z.object({ id: ID }).parse(req.params);
    const rows = await db.query<{ id: string }>(
      `SELECT i.id FROM invites i JOIN users u ON u.email = i.email WHERE i.id = $1 AND u.id = $2 AND i.status = 'pending'`,
      [id, userId],
    );
    if (rows[0] === undefined) throw new HttpError(404, 'NOT_FOUND', 'no such invite');
    await db.query(`UPDATE invites SET status = 'accepted', user_id = $2 WHERE id = $1`, [id, userId]);
    return reply.status(204).send();
  });

  app.post('/v1/workspaces/:ws/members', async (req, reply) => {
    const userId = authenticate(req);
    const { ws } = wsParam.parse(req.params);
    const { inviteId, sealedKey } = z.object({ inviteId: ID, sealedKey: B64 }).parse(req.body);
    await requireAdmin(ws, userId);
    await db.transaction(async (tx) => {
      const invite = await tx.query<{ user_id: string | null }>(
        `SELECT user_id FROM invites WHERE id = $1 AND workspace_id = $2 AND status = 'accepted'`,
        [inviteId, ws],
      );
      const member = invite[0]?.user_id;
      if (member === undefined || member === null)
        throw new HttpError(404, 'NOT_FOUND', 'no accepted invite with that id');
      const version = await tx.query<{ key_version: number }>(
        'SELECT key_version FROM workspaces WHERE id = $1',
        [ws],
      );
      await tx.query(
        'INSERT INTO members (workspace_id, user_id, role, sealed_key, key_version) VALUES ($1, $2, $3, $4, $5)',
        [ws, member, 'member', sealedKey, Number(version[0]?.key_version ?? 1)],
      );
      await tx.query(`UPDATE invites SET status = 'done' WHERE id = $1`, [inviteId]);
    });
    return reply.status(201).send({ status: 'member' });
  });

  app.get('/v1/workspaces/:ws/members', async (req) => {
    const userId = authenticate(req);
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

  app.put('/v1/workspaces/:ws/members/:user/role', async (req, reply) => {
    const userId = authenticate(req);
    const { ws, user } = z.object({ ws: ID, user: ID }).parse(req.params);
    const { role } = z.object({ role: z.enum(['admin', 'member']) }).parse(req.body);
    await requireAdmin(ws, userId);
    await db.transaction(async (tx) => {
      if (role === 'member') {
        const admins = await tx.query<{ n: number }>(
          `SELECT COUNT(*) AS n FROM members WHERE workspace_id = $1 AND role = 'admin' AND user_id <> $2`,
          [ws, user],
        );
        if (Number(admins[0]?.n ?? 0) === 0)
          throw new HttpError(409, 'CONFLICT', 'a workspace keeps at least one admin');
      }
      await tx.query('UPDATE members SET role = $3 WHERE workspace_id = $1 AND user_id = $2', [
        ws,
        user,
        role,
      ]);
    });
    return reply.status(204).send();
  });

  // Removing a member marks the workspace key for rotation: until an admin client re-encrypts the workspace's
  // secrets under a new key, clients report the rotation as pending.
  app.delete('/v1/workspaces/:ws/members/:user', async (req, reply) => {
    const userId = authenticate(req);
    const { ws, user } = z.object({ ws: ID, user: ID }).parse(req.params);
    await requireAdmin(ws, userId);
    await db.transaction(async (tx) => {
      const admins = await tx.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM members WHERE workspace_id = $1 AND role = 'admin' AND user_id <> $2`,
        [ws, user],
      );
      if (Number(admins[0]?.n ?? 0) === 0)
        throw new HttpError(409, 'CONFLICT', 'a workspace keeps at least one admin');
      await tx.query('DELETE FROM members WHERE workspace_id = $1 AND user_id = $2', [ws, user]);
      await tx.query('UPDATE workspaces SET rotation_pending = 1 WHERE id = $1', [ws]);
    });
    return reply.status(204).send();
  });

  // Everything an admin client needs to rotate: the latest ciphertext of every secret of the workspace.
  app.get('/v1/workspaces/:ws/secrets', async (req) => {
    const userId = authenticate(req);
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

  // Key rotation after a removal, done by an admin client: the new key sealed to every remaining member and every
  // secret re-encrypted as its next version. All or nothing; a stale view (a member or a secret changed meanwhile)
  // is a 409 and the client starts over.
  app.post('/v1/workspaces/:ws/rotate', async (req, reply) => {
    const userId = authenticate(req);
    const { ws } = wsParam.parse(req.params);
    const body = z
      .object({
        keyVersion: z.number().int().min(2),
        sealedKeys: z.array(z.object({ userId: ID, sealedKey: B64 })).max(10_000),
        secrets: z
          .array(
            z.object({
              projectId: ID,
              environment: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
              name: NAME,
              version: z.number().int().min(2),
              ciphertext: B64,
            }),
          )
          .max(100_000),
      })
      .parse(req.body);
    await requireAdmin(ws, userId);
    await db.transaction(async (tx) => {
      const current = await tx.query<{ key_version: number }>(
        'SELECT key_version FROM workspaces WHERE id = $1',
        [ws],
      );
      if (Number(current[0]?.key_version) + 1 !== body.keyVersion)
        throw new HttpError(409, 'CONFLICT', 'the workspace key changed meanwhile');
      const members = (
        await tx.query<{ user_id: string }>('SELECT user_id FROM members WHERE workspace_id = $1', [ws])
      )
        .map((m) => m.user_id)
        .sort();
      const sealedFor = body.sealedKeys.map((k) => k.userId).sort();
      if (JSON.stringify(members) !== JSON.stringify(sealedFor))
        throw new HttpError(409, 'CONFLICT', 'the members changed meanwhile');
      const latest = await tx.query<{ project_id: string; environment: string; name: string; v: number }>(
        `SELECT project_id, environment, name, MAX(version) AS v FROM secrets WHERE workspace_id = $1 GROUP BY project_id, environment, name`,
        [ws],
      );
      const expected = new Map(
        latest.map((r) => [`${r.project_id}/${r.environment}/${r.name}`, Number(r.v) + 1]),
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
      for (const k of body.sealedKeys) {
        await tx.query(
          'UPDATE members SET sealed_key = $3, key_version = $4 WHERE workspace_id = $1 AND user_id = $2',
          [ws, k.userId, k.sealedKey, body.keyVersion],
        );
      }
      await tx.query('UPDATE workspaces SET key_version = $2, rotation_pending = 0 WHERE id = $1', [
        ws,
        body.keyVersion,
      ]);
    });
    return reply.status(204).send();
  });

  // The team policy is signed by an admin's key on the client; the server only keeps the newest one. Clients verify
  // the signature against admin keys they pinned, so the server cannot widen where credentials may go.
  app.put('/v1/workspaces/:ws/policy', async (req, reply) => {
    const userId = authenticate(req);
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
    const userId = authenticate(req);
    const { ws } = wsParam.parse(req.params);
    await membership(ws, userId);
    const rows = await db.query<{ body: string }>('SELECT body FROM policies WHERE workspace_id = $1', [ws]);
    return { policy: rows[0] === undefined ? null : JSON.parse(rows[0].body) };
  });

  return app;
}
