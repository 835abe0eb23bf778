import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Db } from './db.js';

/**
 * The embedded engine: one SQLite file, no server to start. better-sqlite3 is synchronous, so transactions are
 * serialized through a queue — a transaction's awaits cannot let another request's statements into it.
 */
export function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  let queue: Promise<unknown> = Promise.resolve();

  const run = <T>(sql: string, params: readonly unknown[]): T[] => {
    // $1, $2 … become named parameters, so a placeholder may appear in any order or more than once.
    const statement = sqlite.prepare(sql.replace(/\$(\d+)/g, '@p$1'));
    const named: Record<string, unknown> = {};
    for (const [i, p] of params.entries()) {
      if (sql.includes(`$${i + 1}`)) named[`p${i + 1}`] = typeof p === 'boolean' ? Number(p) : p;
    }
    if (statement.reader) return statement.all(named) as T[];
    statement.run(named);
    return [];
  };

  const direct: Db = {
    engine: 'sqlite',
    query: async (sql, params = []) => run(sql, params),
    transaction: (fn) => {
      const next = queue.then(async () => {
        sqlite.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(direct);
          sqlite.exec('COMMIT');
          return result;
        } catch (e) {
          sqlite.exec('ROLLBACK');
          throw e;
        }
      });
      queue = next.catch(() => undefined);
      return next;
    },
    close: async () => {
      await queue;
      sqlite.close();
    },
  };
  return direct;
}
