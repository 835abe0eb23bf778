import type { Db } from '../db/db.js';

/** Counts one attempt in `bucket`'s minute starting at `window`; returns the attempts of that minute so far. */
export async function countAttempt(db: Db, bucket: string, window: number): Promise<number> {
  return db.transaction(async (tx) => {
    const row = await tx.query<{ window_start: number; hits: number }>(
      'SELECT window_start, hits FROM rate_limits WHERE bucket = $1',
      [bucket],
    );
    const hits = row[0] !== undefined && Number(row[0].window_start) === window ? Number(row[0].hits) + 1 : 1;
    if (row[0] === undefined) {
      await tx.query('INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, $3)', [
        bucket,
        window,
        hits,
      ]);
    } else {
      await tx.query('UPDATE rate_limits SET window_start = $2, hits = $3 WHERE bucket = $1', [
        bucket,
        window,
        hits,
      ]);
    }
    return hits;
  });
}
