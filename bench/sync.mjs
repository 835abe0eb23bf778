// Team sync: push (one all-or-nothing request) and pull of 1,000 secrets through the zero-knowledge client against a
// real server on loopback (Argon2id excluded: the session is made once, before timing), and authenticated pulls per
// second on SQLite and,
// when TEST_DATABASE_URL names a PostgreSQL, on PostgreSQL with two server instances sharing it. Targets: push and
// pull of 1,000 secrets <= 2 s each.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, openDatabase } from '@agentsecrets/server';
import { SyncClient } from '@agentsecrets/sync';

const N = 1000;
const dir = await mkdtemp(join(tmpdir(), 'as-bench-sync-'));

async function scenario(label, location, instances) {
  const db = await openDatabase(location);
  if (location.startsWith('postgres'))
    for (const t of [
      'secrets',
      'members',
      'rosters',
      'invites',
      'policies',
      'workspaces',
      'refresh_tokens',
      'refresh_families',
      'rate_limits',
      'users',
    ])
      await db.query(`DELETE FROM ${t}`);
  const servers = [];
  for (let i = 0; i < instances; i += 1) {
    const app = await buildServer({ db, authRateLimit: 1000 });
    servers.push({ app, url: await app.listen({ port: 0, host: '127.0.0.1' }) });
  }
  const clients = servers.map((s) => new SyncClient(s.url));
  const email = `bench-${instances}-${location.startsWith('postgres') ? 'pg' : 'sqlite'}@example.com`;
  await clients[0].signup(email, 'bench account password');
  const session = await clients[0].login(email, 'bench account password');
  const { workspace } = await clients[0].createWorkspace(session, 'bench');
  const at = { workspace, projectId: 'app', environment: 'default' };
  const values = Array.from({ length: N }, (_, i) => Buffer.from(`sk_live_bench_${i}_${'v'.repeat(32)}`));

  let t0 = performance.now();
  const pushed = await clients[0].push(
    session,
    at,
    values.map((value, i) => ({ name: `KEY_${i}`, value, baseVersion: 0 })),
  );
  if (!('pushed' in pushed) || pushed.pushed.length !== N) throw new Error('the push did not apply');
  const pushMs = performance.now() - t0;
  t0 = performance.now();
  const pulled = await clients[0].pull(session, at);
  const pullMs = performance.now() - t0;
  if (pulled.length !== N) throw new Error(`pulled ${pulled.length}`);

  // Authenticated small pulls (a project with 5 secrets), 16 at a time, spread over the instances.
  const small = { ...at, projectId: 'small' };
  await clients[0].push(
    session,
    small,
    values.slice(0, 5).map((value, i) => ({ name: `S_${i}`, value, baseVersion: 0 })),
  );
  const duration = 3000;
  let count = 0;
  t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      while (performance.now() - t0 < duration) {
        await clients[w % clients.length].pull(session, small);
        count += 1;
      }
    }),
  );
  const rps = count / ((performance.now() - t0) / 1000);
  console.log(
    `  ${label.padEnd(22)} push ${N}: ${(pushMs / 1000).toFixed(2)} s   pull ${N}: ${(pullMs / 1000).toFixed(2)} s   authenticated pulls: ${Math.round(rps)}/s`,
  );
  for (const s of servers) await s.app.close();
  await db.close();
}

console.log(
  `sync, ${N} secrets in one push, 16 concurrent pulls, server(s) in this process on loopback (targets: push and pull <= 2 s)`,
);
await scenario('sqlite, 1 instance', join(dir, 'sync.db'), 1);
if (process.env.TEST_DATABASE_URL) await scenario('postgres, 2 instances', process.env.TEST_DATABASE_URL, 2);
else console.log('  postgres: skipped (run under scripts/with-postgres.sh to measure it)');
await rm(dir, { recursive: true, force: true });
