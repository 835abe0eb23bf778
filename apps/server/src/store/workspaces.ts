import type { WorkspaceEntrySchema } from '@agentsecrets/sync';
import type { z } from 'zod';
import type { Db } from '../db/db.js';

/** A new workspace at key version 1. Throws a unique violation when the id is taken. */
export async function insertWorkspace(tx: Db, id: string, name: string): Promise<void> {
  await tx.query(
    'INSERT INTO workspaces (id, name, key_version, rotation_pending, created_at) VALUES ($1, $2, 1, 0, $3)',
    [id, name, Date.now()],
  );
}

/**
 * Takes the workspace's row lock (a no-op update, portable to both engines) and reads its key state: roster
 * changes, rotations and pushes of one workspace apply one at a time, on one instance or several.
 */
export async function lockWorkspace(
  tx: Db,
  id: string,
): Promise<{ keyVersion: number; rotationPending: boolean } | undefined> {
  await tx.query('UPDATE workspaces SET key_version = key_version WHERE id = $1', [id]);
  const rows = await tx.query<{ key_version: number; rotation_pending: number }>(
    'SELECT key_version, rotation_pending FROM workspaces WHERE id = $1',
    [id],
  );
  const r = rows[0];
  return r === undefined
    ? undefined
    : { keyVersion: Number(r.key_version), rotationPending: Number(r.rotation_pending) === 1 };
}

/** Marks the rotation a signed roster asked for. */
export async function markRotationPending(tx: Db, id: string): Promise<void> {
  await tx.query('UPDATE workspaces SET rotation_pending = 1 WHERE id = $1', [id]);
}

/** Records a finished rotation to `keyVersion`. */
export async function finishRotation(tx: Db, id: string, keyVersion: number): Promise<void> {
  await tx.query('UPDATE workspaces SET key_version = $2, rotation_pending = 0 WHERE id = $1', [
    id,
    keyVersion,
  ]);
}

/** The workspaces a user is a member of, with their grant, by name. */
export async function workspacesOf(db: Db, userId: string): Promise<z.input<typeof WorkspaceEntrySchema>[]> {
  const rows = await db.query<{
    id: string;
    name: string;
    role: string;
    sealed_key: string;
    key_version: number;
    rotation_pending: number;
    grant_body: string | null;
  }>(
    `SELECT w.id, w.name, m.role, m.sealed_key, m.key_version, w.rotation_pending, m.grant_body
       FROM members m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.name`,
    [userId],
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role,
    keyVersion: Number(r.key_version),
    rotationPending: Number(r.rotation_pending) === 1,
    grant: r.grant_body === null ? null : JSON.parse(r.grant_body),
    // Workspaces made before signed rosters: the bare sealed key, for `workspace upgrade` only.
    ...(r.grant_body === null ? { sealedKey: r.sealed_key } : {}),
  }));
}
