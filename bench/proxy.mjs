// The proxy against direct undici calls to the same loopback upstream, in one run: added latency (p50, p99) with 1
// and 64 concurrent clients, throughput, and a soak of many requests at 64 concurrency (errors, RSS before/after).
// Targets: p50 added <= 0.5 ms; throughput >= 0.6x direct; zero errors and flat memory in the soak.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentSecrets, createMemoryStore, initAgentSecrets } from '@agentsecrets/core';
import { startProxyServer } from '@agentsecrets/proxy';
import { Agent, request } from 'undici';

const SOAK = Number(process.env.BENCH_SOAK ?? 100_000);
const body = JSON.stringify({ object: 'balance', available: [{ amount: 1234, currency: 'usd' }] });
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const target = `http://127.0.0.1:${upstream.address().port}/v1/balance`;

const dir = await mkdtemp(join(tmpdir(), 'as-bench-proxy-'));
const home = join(dir, 'home');
await initAgentSecrets({ home, cwd: join(dir, 'app'), passphrase: 'bench passphrase', keychain: 'memory' });
const core = await createAgentSecrets({ home, cwd: join(dir, 'app'), store: createMemoryStore() });
await core.allowlist.add([`http://${new URL(target).host}`], await core.unlockOwner('bench passphrase'));
for (let i = 0; i < 20; i += 1) await core.setSecret(`KEY_${i}`, `sk_live_bench_${i}_${'y'.repeat(24)}`);
const proxy = await startProxyServer({ core, port: 0 });

const agent = new Agent({ connections: 128, keepAliveTimeout: 10_000 });
const direct = () =>
  request(target, { dispatcher: agent, headers: { authorization: 'Bearer sk_live_bench_3' } }).then((r) =>
    r.body.arrayBuffer(),
  );
const proxyHeaders = {
  'x-as-session-token': proxy.token,
  'x-as-target-url': target,
  'x-as-inject-bearer': 'KEY_3',
};
const viaProxy = () =>
  request(`${proxy.url}/proxy`, { dispatcher: agent, headers: proxyHeaders }).then((r) => {
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
    return r.body.arrayBuffer();
  });

async function load(fn, concurrency, total) {
  const latencies = new Float64Array(total);
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const s = performance.now();
        try {
          await fn();
        } catch {
          errors += 1;
        }
        latencies[i] = performance.now() - s;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort();
  return {
    p50: latencies[Math.floor(total * 0.5)],
    p99: latencies[Math.floor(total * 0.99)],
    rps: total / seconds,
    errors,
  };
}

const fmt = (r) =>
  `p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  ${Math.round(r.rps)} req/s  errors ${r.errors}`;
console.log('proxy vs direct undici, same loopback upstream, bearer injection, 20 secrets in the redactor');
for (const [concurrency, total] of [
  [1, 4000],
  [64, 20000],
]) {
  await load(direct, concurrency, 1000);
  await load(viaProxy, concurrency, 1000);
  const d = await load(direct, concurrency, total);
  const p = await load(viaProxy, concurrency, total);
  console.log(`  concurrency ${concurrency}`);
  console.log(`    direct: ${fmt(d)}`);
  console.log(`    proxy:  ${fmt(p)}`);
  console.log(
    `    added p50 ${(p.p50 - d.p50).toFixed(3)} ms (target <= 0.5), p99 ${(p.p99 - d.p99).toFixed(3)} ms; throughput ${(p.rps / d.rps).toFixed(2)}x direct (target >= 0.6)`,
  );
}
global.gc?.();
const before = process.memoryUsage().rss;
const soak = await load(viaProxy, 64, SOAK);
global.gc?.();
const after = process.memoryUsage().rss;
console.log(`  soak: ${SOAK} requests at 64 concurrency: ${fmt(soak)}`);
console.log(
  `  RSS before ${(before / 2 ** 20).toFixed(1)} MiB, after ${(after / 2 ** 20).toFixed(1)} MiB (bench, proxy and upstream share this process)`,
);
await proxy.close();
await agent.close();
upstream.close();
await rm(dir, { recursive: true, force: true });
if (soak.errors > 0) process.exitCode = 1;
