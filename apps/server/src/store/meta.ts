import type { Db } from '../db/db.js';

/** The server secret (made by the first migration run): the key of access tokens and decoy answers. */
export async function serverSecret(db: Db): Promise<Buffer | undefined> {
  const rows = await db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', ['server_secret']);
  return rows[0] === undefined ? undefined : Buffer.from(rows[0].value, 'base64');
}
