// Keychain get/set latency per backend, with the memory backend as the baseline of the same run.
//
//   node bench/keychain.mjs            (BENCH_OPS=200 by default)
//
// The os backend is measured only when an OS keychain answers; run inside a D-Bus session with gnome-keyring
// (see packages/keychain/README.md) to include it. Imports the built package: build it first.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore, createOsStore, openFileVault, probeOsKeychain } from '@agentsecrets/keychain';

const OPS = Number(process.env.BENCH_OPS ?? 200);
const WARMUP = 10;
const KEYS = 20;
const NS = { workspace: 'bench', project: `p-${randomBytes(4).toString('hex')}` };

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { median: at(0.5), p99: at(0.99), mean: sorted.reduce((s, x) => s + x, 0) / sorted.length };
}

async function time(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function measure(store) {
  const value = randomBytes(32).toString('base64');
  for (let i = 0; i < WARMUP; i++) {
    await store.set(NS, `K${i % KEYS}`, value);
    (await store.get(NS, `K${i % KEYS}`))?.dispose();
  }
  const set = [];
  for (let i = 0; i < OPS; i++) set.push(await time(() => store.set(NS, `K${i % KEYS}`, value)));
  const get = [];
  for (let i = 0; i < OPS; i++) {
    get.push(
      await time(async () => {
        (await store.get(NS, `K${i % KEYS}`))?.dispose();
      }),
    );
  }
  for (let i = 0; i < KEYS; i++) await store.delete(NS, `K${i}`);
  return { set: stats(set), get: stats(get) };
}

const fmt = (ms) => (ms < 0.1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);

const results = [];
const baseline = await measure(createMemoryStore());
results.push({ backend: 'memory', ...baseline });

const dir = await mkdtemp(join(tmpdir(), 'agentsecrets-bench-'));
try {
  let vault;
  const openMs = await time(async () => {
    vault = await openFileVault({ path: join(dir, 'vault.json'), passphrase: 'bench passphrase' });
  });
  results.push({
    backend: 'file',
    note: `open (Argon2id, default params) ${fmt(openMs)}`,
    ...(await measure(vault)),
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}

if (await probeOsKeychain()) {
  const store = createOsStore({ service: `agentsecrets-bench-${randomBytes(4).toString('hex')}` });
  results.push({ backend: 'os', ...(await measure(store)) });
} else {
  results.push({
    backend: 'os',
    skipped: 'no OS keychain answered (run inside a D-Bus session with gnome-keyring)',
  });
}

console.log(
  `keychain latency, ${OPS} ops each (${KEYS} keys cycled, 32-byte values), Node ${process.version}`,
);
console.log('backend  op   median      p99         x memory (median)');
for (const r of results) {
  if (r.skipped) {
    console.log(`${r.backend.padEnd(8)} skipped: ${r.skipped}`);
    continue;
  }
  for (const op of ['set', 'get']) {
    const s = r[op];
    const ratio = s.median / baseline[op].median;
    console.log(
      `${r.backend.padEnd(8)} ${op.padEnd(4)} ${fmt(s.median).padEnd(11)} ${fmt(s.p99).padEnd(11)} ${ratio.toFixed(0)}x`,
    );
  }
  if (r.note) console.log(`${''.padEnd(8)} ${r.note}`);
}
