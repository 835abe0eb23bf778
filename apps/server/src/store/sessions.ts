import type { Db } from '../db/db.js';

// Sessions: one row per refresh token family (locked by every refresh, checked by every access token), and the
// refresh tokens of each, kept by hash.

const REFRESH_TTL_MS = 30 * 24 * 3600 * 1000;

/** Starts a session. */
export async function insertSession(tx: Db, family: string, userId: string): Promise<void> {
  await tx.query('INSERT INTO refresh_families (family, user_id, revoked) VALUES ($1, $2, 0)', [
    family,
    userId,
  ]);
}

/** Whether a session of this user is live (not ended by logout or a reused refresh token). */
export async function sessionLive(db: Db, family: string, userId: string): Promise<boolean> {
  const rows = await db.query<{ revoked: number }>(
    'SELECT revoked FROM refresh_families WHERE family = $1 AND user_id = $2',
    [family, userId],
  );
  return rows[0] !== undefined && Number(rows[0].revoked) === 0;
}

/**
 * Takes the session's row lock (a no-op update, portable to both engines) and says whether it is live: refreshes of
 * one session run one at a time, on one instance or several.
 */
export async function lockSession(tx: Db, family: string): Promise<boolean> {
  const rows = await tx.query<{ revoked: number }>(
    'UPDATE refresh_families SET revoked = revoked WHERE family = $1 RETURNING revoked',
    [family],
  );
  return rows[0] !== undefined && Number(rows[0].revoked) === 0;
}

/** Ends a session: its family and every refresh token of it. Access tokens of it stop working at once. */
export async function endSession(tx: Db, family: string): Promise<void> {
  await tx.query('UPDATE refresh_families SET revoked = 1 WHERE family = $1', [family]);
  await tx.query('UPDATE refresh_tokens SET revoked = 1 WHERE family = $1', [family]);
}

/** Keeps a new refresh token (by its hash) for 30 days. */
export async function insertRefreshToken(
  tx: Db,
  hash: string,
  userId: string,
  family: string,
): Promise<void> {
  await tx.query(
    'INSERT INTO refresh_tokens (token_hash, user_id, family, used, revoked, expires_at) VALUES ($1, $2, $3, 0, 0, $4)',
    [hash, userId, family, Date.now() + REFRESH_TTL_MS],
  );
}

/** The session a refresh token belongs to. */
export async function sessionOfRefreshToken(db: Db, hash: string): Promise<string | undefined> {
  const rows = await db.query<{ family: string }>('SELECT family FROM refresh_tokens WHERE token_hash = $1', [
    hash,
  ]);
  return rows[0]?.family;
}

/** A refresh token's state. */
export async function refreshToken(
  tx: Db,
  hash: string,
): Promise<{ userId: string; used: boolean; revoked: boolean; expiresAt: number } | undefined> {
  const rows = await tx.query<{ user_id: string; used: number; revoked: number; expires_at: number }>(
    'SELECT user_id, used, revoked, expires_at FROM refresh_tokens WHERE token_hash = $1',
    [hash],
  );
  const r = rows[0];
  return r === undefined
    ? undefined
    : {
        userId: r.user_id,
        used: Number(r.used) === 1,
        revoked: Number(r.revoked) === 1,
        expiresAt: Number(r.expires_at),
      };
}

/** Marks a refresh token used: presenting it again ends its session. */
export async function markRefreshTokenUsed(tx: Db, hash: string): Promise<void> {
  await tx.query('UPDATE refresh_tokens SET used = 1 WHERE token_hash = $1', [hash]);
}
