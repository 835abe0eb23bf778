import {
  LoginRequestSchema,
  PreloginRequestSchema,
  RefreshRequestSchema,
  SignupRequestSchema,
} from '@agentsecrets/sync';
import type { FastifyInstance } from 'fastify';
import { checkAuthKey, hashAuthKey } from '../auth/auth-key-hash.js';
import { newFamily, newRefreshToken, sha256, type Tokens } from '../auth/tokens.js';
import { type Db, isUniqueViolation } from '../db/db.js';
import { SyncRefusal } from '../errors.js';
import { countAttempt } from '../store/rate-limits.js';
import * as sessions from '../store/sessions.js';
import * as users from '../store/users.js';

const DEFAULT_KDF_PARAMS = { memoryKiB: 65536, iterations: 3, parallelism: 4 };

/** What the account routes need. */
export interface AuthRoutesOptions {
  readonly db: Db;
  readonly tokens: Tokens;
  /** Attempts per email or address per minute before RATE_LIMITED. */
  readonly rateLimit: number;
}

/**
 * Accounts and sessions, the routes without a bearer token. None of them tells whether an email has an account:
 * prelogin serves a stable decoy for unknown emails, sign-up answers the same when the email is taken, and login
 * runs the slow hash for unknown emails too and answers with one generic error.
 */
export async function authRoutes(app: FastifyInstance, { db, tokens, rateLimit }: AuthRoutesOptions) {
  async function limit(bucket: string): Promise<void> {
    const now = Date.now();
    if ((await countAttempt(db, sha256(bucket), now - (now % 60_000))) > rateLimit) {
      throw new SyncRefusal('RATE_LIMITED', 'too many attempts; wait a minute');
    }
  }

  /** A new session: its family row and its first refresh token, with an access token naming it. */
  async function startSession(userId: string) {
    const family = newFamily();
    const refreshToken = newRefreshToken();
    await db.transaction(async (tx) => {
      await sessions.insertSession(tx, family, userId);
      await sessions.insertRefreshToken(tx, sha256(refreshToken), userId, family);
    });
    return { accessToken: tokens.issueAccess(userId, family), refreshToken };
  }

  app.post('/v1/auth/prelogin', async (req) => {
    const { email } = PreloginRequestSchema.parse(req.body);
    return (
      (await users.kdfOf(db, email)) ?? {
        salt: tokens.mac('fake-salt', email).subarray(0, 16).toString('base64'),
        params: DEFAULT_KDF_PARAMS,
      }
    );
  });

  app.post('/v1/auth/signup', async (req, reply) => {
    const body = SignupRequestSchema.parse(req.body);
    await limit(`signup:${req.ip}`);
    const authHash = await hashAuthKey(body.authKey);
    try {
      await users.insertUser(db, {
        id: body.userId,
        email: body.email,
        authHash,
        kdf: body.kdf,
        keys: body.keys,
      });
    } catch (e) {
      // Taken: the account is left as it is, and the answer is the same.
      if (!isUniqueViolation(e)) throw e;
    }
    return reply.status(202).send({ status: 'accepted' });
  });

  app.post('/v1/auth/login', async (req) => {
    const { email, authKey } = LoginRequestSchema.parse(req.body);
    await limit(`login:${email}`);
    await limit(`login-ip:${req.ip}`);
    const account = await users.accountOf(db, email);
    if (
      !(await checkAuthKey(account?.authHash, authKey, tokens.mac('dummy', email))) ||
      account === undefined
    ) {
      throw new SyncRefusal('INVALID_CREDENTIALS', 'wrong email or password');
    }
    return { userId: account.id, ...(await startSession(account.id)), keys: account.keys };
  });

  // Refresh tokens rotate on every use; presenting one that was already used ends its whole session (someone else
  // has a copy), including any token issued meanwhile. Refreshes of one session take the session's row lock first,
  // so of several racing with the same token exactly one wins, on one instance or several.
  app.post('/v1/auth/refresh', async (req) => {
    const hash = sha256(RefreshRequestSchema.parse(req.body).refreshToken);
    const outcome = await db.transaction(async (tx) => {
      const family = await sessions.sessionOfRefreshToken(tx, hash);
      if (family === undefined || !(await sessions.lockSession(tx, family))) return 'invalid' as const;
      // Read under the lock: a refresh that won the race meanwhile is visible now.
      const token = await sessions.refreshToken(tx, hash);
      if (token === undefined || token.revoked || token.expiresAt < Date.now()) return 'invalid' as const;
      if (token.used) {
        // Committed before answering: the revocation must survive the refusal.
        await sessions.endSession(tx, family);
        return 'reused' as const;
      }
      await sessions.markRefreshTokenUsed(tx, hash);
      const refreshToken = newRefreshToken();
      await sessions.insertRefreshToken(tx, sha256(refreshToken), token.userId, family);
      return { accessToken: tokens.issueAccess(token.userId, family), refreshToken };
    });
    if (outcome === 'invalid') {
      throw new SyncRefusal('UNAUTHORIZED', 'the refresh token is not valid; log in again');
    }
    if (outcome === 'reused') {
      throw new SyncRefusal(
        'TOKEN_REUSED',
        'this refresh token was already used; every session of it is revoked',
      );
    }
    return outcome;
  });

  // Logout ends the session at once: its refresh tokens and its access tokens.
  app.post('/v1/auth/logout', async (req, reply) => {
    const { refreshToken } = RefreshRequestSchema.parse(req.body);
    const family = await sessions.sessionOfRefreshToken(db, sha256(refreshToken));
    if (family !== undefined) await db.transaction((tx) => sessions.endSession(tx, family));
    return reply.status(204).send();
  });
}
