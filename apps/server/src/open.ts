import type { Db } from './db/db.js';
import { migrate } from './db/migrations.js';
import { openPostgres } from './db/postgres.js';
import { openSqlite } from './db/sqlite.js';

/** Opens and migrates the database: a `postgres://` URL, or a SQLite file path (the embedded default). */
export async function openDatabase(location: string): Promise<Db> {
  const db = /^postgres(ql)?:\/\//.test(location) ? openPostgres(location) : openSqlite(location);
  await migrate(db);
  return db;
}
