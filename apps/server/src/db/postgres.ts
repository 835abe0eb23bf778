import pg from 'pg';
import type { Db } from './db.js';

/** PostgreSQL (`DATABASE_URL`) for teams that outgrow one machine; several server instances can share it. */
export function openPostgres(connectionString: string): Db {
  const pool = new pg.Pool({ connectionString, max: 10 });
  const wrap = (client: pg.Pool | pg.PoolClient, inTx: boolean): Db => ({
    engine: 'postgres',
    query: async (sql, params = []) => (await client.query(sql, params as unknown[])).rows,
    transaction: async (fn) => {
      if (inTx) return fn(wrap(client, true));
      const conn = await pool.connect();
      try {
        await conn.query('BEGIN');
        const result = await fn(wrap(conn, true));
        await conn.query('COMMIT');
        return result;
      } catch (e) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        conn.release();
      }
    },
    close: () => pool.end(),
  });
  return wrap(pool, false);
}
