// The proxy against direct undici calls to the same loopback upstream, in one run. The upstream and the proxy each
// run in their own process, as they would for a user; this process only generates load. Measures added latency
// (p50, p99) and throughput with 1 and 64 concurrent clients, next to a minimal pass-through proxy (no policy,
// injection, redaction or audit) that shows what any node:http + undici proxy reaches on this machine, then a soak at 64 concurrency with the proxy's RSS
// before and after. Targets: p50 added <= 0.5 ms; throughput at 64 clients >= 0.85x the minimal proxy; zero errors and
// flat memory. CPU time per request of each proxy process (Linux /proc) is printed too: unlike req/s, it holds still
// when other work loads the machine. Each figure is taken in interleaved rounds and the median round is printed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const SOAK = Number(process.env.BENCH_SOAK ?? 100_000);

function start(script, args = []) {
  const child = spawn(
    process.execPath,
    ['--expose-gc', fileURLToPath(new URL(script, import.meta.url)), ...args],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const next = async () => JSON.parse((await once(lines, 'line'))[0]);
  return { child, next };
}

const upstream = start('./support/upstream.mjs');
const { port } = await upstream.next();
const proxyProc = start('./support/proxy-server.mjs', [String(port)]);
const { url: proxyUrl, token } = await proxyProc.next();
const minimal = start('./support/minimal-proxy.mjs');
const { url: minimalUrl } = await minimal.next();
const rss = async () => {
  proxyProc.child.stdin.write('rss\n');
  return (await proxyProc.next()).rss / 2 ** 20;
};

const target = `http://127.0.0.1:${port}/v1/balance`;
const agent = new Agent({ connections: 128, keepAliveTimeout: 10_000 });
const direct = () =>
  request(target, { dispatcher: agent, headers: { authorization: 'Bearer sk_live_bench_3' } }).then((r) =>
    r.body.arrayBuffer(),
  );
const headers = { 'x-as-session-token': token, 'x-as-target-url': target, 'x-as-inject-bearer': 'KEY_3' };
const viaProxy = () =>
  request(`${proxyUrl}/proxy`, { dispatcher: agent, headers }).then(async (r) => {
    await r.body.arrayBuffer();
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
  });

/** CPU milliseconds a process has used (user + system), or NaN where /proc is not there. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Runs `fn` `total` times from `concurrency` clients; `pid`, if given, is the process whose CPU time is measured. */
async function load(fn, concurrency, total, pid) {
  const cpu0 = pid === undefined ? Number.NaN : cpuMs(pid);
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
    cpuPerRequest: pid === undefined ? Number.NaN : (cpuMs(pid) - cpu0) / total,
  };
}

const viaMinimal = () =>
  request(`${minimalUrl}/`, { dispatcher: agent, headers: { 'x-as-target-url': target } }).then((r) =>
    r.body.arrayBuffer(),
  );

const fmt = (r) =>
  `p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  ${Math.round(r.rps)} req/s  errors ${r.errors}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** The round whose figure is the median (ties: the first), so the printed line is one real measurement. */
const medianRound = (rounds, figure) => rounds.find((r) => figure(r) === median(rounds.map(figure)));

console.log(
  'proxy (own process) vs direct undici, same loopback upstream (own process), bearer injection, 20 secrets',
);
// The three are measured in ROUNDS interleaved rounds (direct, proxy, minimal in turn) after a warm-up, and the
// round with the median figure is printed: on a shared machine a single long run of each is at the mercy of
// whatever else runs during it, and the JIT of a long-running proxy is warm.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
for (const [concurrency, perRound] of [
  [1, 2000],
  [64, 6000],
]) {
  for (const fn of [direct, viaProxy, viaMinimal]) await load(fn, concurrency, 5000);
  const rounds = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const d = await load(direct, concurrency, perRound);
    const p = await load(viaProxy, concurrency, perRound, proxyProc.child.pid);
    const m = await load(viaMinimal, concurrency, perRound, minimal.child.pid);
    rounds.push({ d, p, m, added: p.p50 - d.p50, share: p.rps / m.rps });
  }
  const { d, p, m } = medianRound(rounds, (r) => (concurrency === 1 ? r.added : r.share));
  const cpu = (key) => median(rounds.map((r) => r[key].cpuPerRequest));
  const range = (figure, digits) =>
    `${Math.min(...rounds.map(figure)).toFixed(digits)}–${Math.max(...rounds.map(figure)).toFixed(digits)}`;
  console.log(
    `  concurrency ${concurrency} (${ROUNDS} rounds of ${perRound} requests each; the median round)`,
  );
  console.log(`    direct:           ${fmt(d)}`);
  console.log(`    agentsecrets:     ${fmt(p)}`);
  console.log(
    `    minimal proxy:    ${fmt(m)}   (${(m.rps / d.rps).toFixed(2)}x direct: the ceiling of any node:http+undici proxy here)`,
  );
  console.log(
    `    added p50 ${(p.p50 - d.p50).toFixed(3)} ms (target <= 0.5; rounds ${range((r) => r.added, 3)}), p99 ${(p.p99 - d.p99).toFixed(3)} ms; throughput ${(p.rps / d.rps).toFixed(2)}x direct, ${(p.rps / m.rps).toFixed(2)}x the minimal proxy (target >= 0.85 at 64; rounds ${range((r) => r.share, 2)})`,
  );
  console.log(
    `    CPU per request (median of rounds): agentsecrets ${cpu('p').toFixed(3)} ms, minimal proxy ${cpu('m').toFixed(3)} ms (${(cpu('p') / cpu('m')).toFixed(2)}x)`,
  );
}
const before = await rss();
const soak = await load(viaProxy, 64, SOAK);
const after = await rss();
console.log(`  soak: ${SOAK} requests at 64 concurrency: ${fmt(soak)}`);
console.log(`  proxy RSS before ${before.toFixed(1)} MiB, after ${after.toFixed(1)} MiB`);
await agent.close();
upstream.child.kill();
proxyProc.child.kill();
minimal.child.kill();
if (soak.errors > 0) process.exitCode = 1;
