import type { InviteSchema, MyInviteSchema } from '@agentsecrets/sync';
import type { z } from 'zod';
import type { Db } from '../db/db.js';

// Invites: made for an email (pending), accepted by the account of that email (which publishes its keys to the
// admins), done once a signed roster admits it.

/** A new pending invite. Throws a unique violation when the email is already invited to the workspace. */
export async function insertInvite(
  db: Db,
  invite: { id: string; workspaceId: string; email: string; invitedBy: string },
): Promise<void> {
  await db.query(
    'INSERT INTO invites (id, workspace_id, email, invited_by, user_id, status, created_at) VALUES ($1, $2, $3, $4, NULL, $5, $6)',
    [invite.id, invite.workspaceId, invite.email, invite.invitedBy, 'pending', Date.now()],
  );
}

/** A workspace's open invites, oldest first, with the invitee's public keys once they accepted. */
export async function invitesOf(db: Db, workspaceId: string): Promise<z.input<typeof InviteSchema>[]> {
  const rows = await db.query<{
    id: string;
    email: string;
    status: 'pending' | 'accepted';
    user_id: string | null;
    box_public_key: string | null;
    signing_public_key: string | null;
  }>(
    `SELECT i.id, i.email, i.status, i.user_id, u.box_public_key, u.signing_public_key
       FROM invites i LEFT JOIN users u ON u.id = i.user_id WHERE i.workspace_id = $1 AND i.status <> 'done' ORDER BY i.created_at`,
    [workspaceId],
  );
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    status: r.status,
    userId: r.user_id,
    boxPublicKey: r.box_public_key,
    signingPublicKey: r.signing_public_key,
  }));
}

/** The open invites for a user's email. */
export async function invitesFor(db: Db, userId: string): Promise<z.input<typeof MyInviteSchema>[]> {
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
}

export async function markAccepted(db: Db, id: string, userId: string): Promise<void> {
  await db.query(`UPDATE invites SET status = 'accepted', user_id = $2 WHERE id = $1`, [id, userId]);
}

/** The invite a user accepted to a workspace, if any. */
export async function acceptedInvite(
  tx: Db,
  workspaceId: string,
  userId: string,
): Promise<string | undefined> {
  const rows = await tx.query<{ id: string }>(
    `SELECT id FROM invites WHERE workspace_id = $1 AND user_id = $2 AND status = 'accepted'`,
    [workspaceId, userId],
  );
  return rows[0]?.id;
}

export async function markDone(tx: Db, id: string): Promise<void> {
  await tx.query(`UPDATE invites SET status = 'done' WHERE id = $1`, [id]);
}

/** Forgets a removed member's invites, so they may be invited again. */
export async function deleteInvitesOf(tx: Db, workspaceId: string, userId: string): Promise<void> {
  await tx.query('DELETE FROM invites WHERE workspace_id = $1 AND user_id = $2', [workspaceId, userId]);
}
