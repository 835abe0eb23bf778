import type { Db } from '../db/db.js';

// The newest team policy of each workspace, stored as an admin signed it (clients verify it).

/** The stored policy's serial. */
export async function policySerial(tx: Db, workspaceId: string): Promise<number | undefined> {
  const rows = await tx.query<{ serial: number }>('SELECT serial FROM policies WHERE workspace_id = $1', [
    workspaceId,
  ]);
  return rows[0] === undefined ? undefined : Number(rows[0].serial);
}

/** Stores a policy in place of the one before (if any). */
export async function savePolicy(
  tx: Db,
  workspaceId: string,
  serial: number,
  body: string,
  replacing: boolean,
): Promise<void> {
  if (replacing) {
    await tx.query('UPDATE policies SET serial = $2, body = $3 WHERE workspace_id = $1', [
      workspaceId,
      serial,
      body,
    ]);
  } else {
    await tx.query('INSERT INTO policies (workspace_id, serial, body) VALUES ($1, $2, $3)', [
      workspaceId,
      serial,
      body,
    ]);
  }
}

/** The stored policy, as stored. */
export async function storedPolicy(db: Db, workspaceId: string): Promise<unknown> {
  const rows = await db.query<{ body: string }>('SELECT body FROM policies WHERE workspace_id = $1', [
    workspaceId,
  ]);
  return rows[0] === undefined ? null : JSON.parse(rows[0].body);
}
