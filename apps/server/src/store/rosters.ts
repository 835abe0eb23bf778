import type { SignedRoster } from '@agentsecrets/sync';
import type { Db } from '../db/db.js';

// Roster versions are stored as the admins signed them; clients verify the chain, the server only orders it.

export async function insertRoster(tx: Db, roster: SignedRoster): Promise<void> {
  await tx.query('INSERT INTO rosters (workspace_id, serial, body) VALUES ($1, $2, $3)', [
    roster.workspaceId,
    roster.serial,
    JSON.stringify(roster),
  ]);
}

export async function latestRoster(tx: Db, workspaceId: string): Promise<SignedRoster | undefined> {
  const rows = await tx.query<{ body: string }>(
    'SELECT body FROM rosters WHERE workspace_id = $1 ORDER BY serial DESC LIMIT 1',
    [workspaceId],
  );
  return rows[0] === undefined ? undefined : (JSON.parse(rows[0].body) as SignedRoster);
}

/** Every version, oldest first. */
export async function rostersOf(db: Db, workspaceId: string): Promise<SignedRoster[]> {
  const rows = await db.query<{ body: string }>(
    'SELECT body FROM rosters WHERE workspace_id = $1 ORDER BY serial',
    [workspaceId],
  );
  return rows.map((r) => JSON.parse(r.body) as SignedRoster);
}
