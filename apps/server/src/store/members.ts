import type { KeyGrant, MemberSchema } from '@agentsecrets/sync';
import type { z } from 'zod';
import type { Db } from '../db/db.js';

/** A user's role in a workspace, when they are a member. */
export async function roleOf(db: Db, workspaceId: string, userId: string): Promise<string | undefined> {
  const rows = await db.query<{ role: string }>(
    'SELECT role FROM members WHERE workspace_id = $1 AND user_id = $2',
    [workspaceId, userId],
  );
  return rows[0]?.role;
}

/** Every member's role, by user id. */
export async function rolesIn(tx: Db, workspaceId: string): Promise<Map<string, string>> {
  const rows = await tx.query<{ user_id: string; role: string }>(
    'SELECT user_id, role FROM members WHERE workspace_id = $1',
    [workspaceId],
  );
  return new Map(rows.map((r) => [r.user_id, r.role]));
}

/** Admits a member with the key grant an admin signed for them. */
export async function insertMember(tx: Db, userId: string, role: string, grant: KeyGrant): Promise<void> {
  await tx.query(
    'INSERT INTO members (workspace_id, user_id, role, sealed_key, key_version, grant_body) VALUES ($1, $2, $3, $4, $5, $6)',
    [grant.workspaceId, userId, role, grant.sealedKey, grant.keyVersion, JSON.stringify(grant)],
  );
}

export async function setRole(tx: Db, workspaceId: string, userId: string, role: string): Promise<void> {
  await tx.query('UPDATE members SET role = $3 WHERE workspace_id = $1 AND user_id = $2', [
    workspaceId,
    userId,
    role,
  ]);
}

export async function removeMember(tx: Db, workspaceId: string, userId: string): Promise<void> {
  await tx.query('DELETE FROM members WHERE workspace_id = $1 AND user_id = $2', [workspaceId, userId]);
}

/** Replaces a member's key with the one a rotation granted them. */
export async function setGrant(tx: Db, grant: KeyGrant): Promise<void> {
  await tx.query(
    'UPDATE members SET sealed_key = $3, key_version = $4, grant_body = $5 WHERE workspace_id = $1 AND user_id = $2',
    [grant.workspaceId, grant.recipient, grant.sealedKey, grant.keyVersion, JSON.stringify(grant)],
  );
}

/** The members with their email and public keys, by email. */
export async function membersOf(db: Db, workspaceId: string): Promise<z.input<typeof MemberSchema>[]> {
  const rows = await db.query<{
    user_id: string;
    email: string;
    role: string;
    box_public_key: string;
    signing_public_key: string;
  }>(
    `SELECT m.user_id, u.email, m.role, u.box_public_key, u.signing_public_key FROM members m
       JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY u.email`,
    [workspaceId],
  );
  return rows.map((r) => ({
    userId: r.user_id,
    email: r.email,
    role: r.role,
    boxPublicKey: r.box_public_key,
    signingPublicKey: r.signing_public_key,
  }));
}
