import { randomBytes } from 'node:crypto';
import type { Db } from './db.js';

// Portable SQL that both engines run unchanged. Append new migrations; never edit one that has shipped.
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE users (
     id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, auth_hash TEXT NOT NULL, kdf TEXT NOT NULL,
     box_public_key TEXT NOT NULL, signing_public_key TEXT NOT NULL, sealed_private_keys TEXT NOT NULL,
     created_at BIGINT NOT NULL)`,
  `CREATE TABLE refresh_tokens (
     token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, family TEXT NOT NULL, used INTEGER NOT NULL,
     revoked INTEGER NOT NULL, expires_at BIGINT NOT NULL)`,
  `CREATE INDEX refresh_tokens_family ON refresh_tokens (family)`,
  `CREATE TABLE rate_limits (bucket TEXT PRIMARY KEY, window_start BIGINT NOT NULL, hits INTEGER NOT NULL)`,
  `CREATE TABLE workspaces (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, key_version INTEGER NOT NULL, rotation_pending INTEGER NOT NULL,
     created_at BIGINT NOT NULL)`,
  `CREATE TABLE members (
     workspace_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, sealed_key TEXT NOT NULL,
     key_version INTEGER NOT NULL, PRIMARY KEY (workspace_id, user_id))`,
  `CREATE TABLE secrets (
     workspace_id TEXT NOT NULL, project_id TEXT NOT NULL, environment TEXT NOT NULL, name TEXT NOT NULL,
     version INTEGER NOT NULL, ciphertext TEXT NOT NULL, key_version INTEGER NOT NULL, author TEXT NOT NULL,
     created_at BIGINT NOT NULL, PRIMARY KEY (workspace_id, project_id, environment, name, version))`,
  `CREATE TABLE invites (
     id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, email TEXT NOT NULL, invited_by TEXT NOT NULL,
     user_id TEXT, status TEXT NOT NULL, created_at BIGINT NOT NULL, UNIQUE (workspace_id, email))`,
  `CREATE TABLE policies (workspace_id TEXT PRIMARY KEY, serial INTEGER NOT NULL, body TEXT NOT NULL)`,
  // Signed rosters and key grants: a member accepts a workspace key only from a grant an admin signed.
  `CREATE TABLE rosters (
     workspace_id TEXT NOT NULL, serial INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (workspace_id, serial))`,
  `ALTER TABLE members ADD COLUMN grant_body TEXT`,
  // Sessions: one row per refresh token family, locked by every refresh and checked by every access token.
  `CREATE TABLE refresh_families (family TEXT PRIMARY KEY, user_id TEXT NOT NULL, revoked INTEGER NOT NULL)`,
  `INSERT INTO refresh_families (family, user_id, revoked)
     SELECT family, MIN(user_id), MAX(revoked) FROM refresh_tokens GROUP BY family`,
];

/**
 * Brings the schema up to date (each migration once, in order, recorded in `schema_migrations`) and makes sure the
 * server secret exists. Safe when several instances start at once.
 */
export async function migrate(db: Db): Promise<void> {
  await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  await db.transaction(async (tx) => {
    if (tx.engine === 'postgres') await tx.query('LOCK TABLE schema_migrations IN EXCLUSIVE MODE');
    const done = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) =>
        Number(r.version),
      ),
    );
    for (const [i, sql] of MIGRATIONS.entries()) {
      if (done.has(i + 1)) continue;
      await tx.query(sql);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
    }
    const secret = await tx.query('SELECT value FROM meta WHERE key = $1', ['server_secret']);
    if (secret.length === 0) {
      await tx.query('INSERT INTO meta (key, value) VALUES ($1, $2)', [
        'server_secret',
        randomBytes(32).toString('base64'),
      ]);
    }
  });
}
