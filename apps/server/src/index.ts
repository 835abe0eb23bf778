/**
 * The AgentSecrets sync server: an HTTP API that stores only ciphertext, public keys and slow hashes of
 * authentication keys, on SQLite (default) or PostgreSQL.
 *
 * @packageDocumentation
 */
export { buildServer, type ServerOptions } from './app.js';
export type { Db } from './db/db.js';
export { migrate } from './db/migrations.js';
export { openDatabase } from './open.js';
