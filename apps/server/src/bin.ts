#!/usr/bin/env node
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildServer } from './app.js';
import { openDatabase } from './open.js';

const USAGE = `agentsecrets-server [--db PATH|postgres://…] [--port 8780] [--host 127.0.0.1]

Stores only ciphertext: teammates' clients encrypt before they push.
  --db     SQLite file (default ~/.agentsecrets-server/sync.db), or a PostgreSQL URL (also DATABASE_URL)
  --port   default 8780
  --host   default 127.0.0.1 (put a TLS-terminating reverse proxy in front for a team)`;

let args: ReturnType<typeof parseArgs>['values'];
try {
  args = parseArgs({
    options: {
      db: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean' },
    },
  }).values;
} catch {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const location =
  (args.db as string | undefined) ??
  process.env.DATABASE_URL ??
  join(homedir(), '.agentsecrets-server', 'sync.db');
const db = await openDatabase(location);
const app = await buildServer({ db, logger: true });
const port = Number(args.port ?? 8780);
await app.listen({ port, host: (args.host as string | undefined) ?? '127.0.0.1' });
const stop = () => {
  void app.close().then(() => db.close());
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
