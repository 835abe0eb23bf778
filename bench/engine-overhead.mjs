// Added latency per call of the injection engine (policy, secret lookup, injection, header scan, streaming
// redaction) and of the whole core (plus signed-policy check and the audit write), against a bare undici request to
// the same loopback server, measured in one run. Target: <= 0.3 ms added at the median for the engine.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentSecrets, initAgentSecrets } from '@agentsecrets/core';
import {
  InjectionEngine,
  parseAllowlistEntry,
  parseInjectionObject,
  Redactor,
} from '@agentsecrets/injection';
import { createMemoryStore, SecretValue } from '@agentsecrets/keychain';
import { Agent, request } from 'undici';
import { startJsonApi } from './support/json-api.mjs';

const N = Number(process.env.BENCH_CALLS ?? 4000);
const WARMUP = 500;
const server = await startJsonApi();
const { port } = server.address();
const url = `http://127.0.0.1:${port}/v1/balance`;

const secrets = Array.from(
  { length: 20 },
  (_, i) => new SecretValue(`KEY_${i}`, Buffer.from(`sk_live_bench_${i}_${'x'.repeat(24)}`)),
);
const redactor = new Redactor(secrets);
const byName = new Map(secrets.map((s) => [s.name, s]));
const engine = new InjectionEngine({
  policy: { allowlist: () => [parseAllowlistEntry(`http://127.0.0.1:${port}`)], bindings: () => [] },
  secrets: {
    resolve: async (names) => new Map(names.map((n) => [n, byName.get(n)])),
    redactor: () => redactor,
  },
});
const injections = parseInjectionObject({ bearer: 'KEY_3' });
const agent = new Agent({ keepAliveTimeout: 10_000 });

async function measure(label, once) {
  for (let i = 0; i < WARMUP; i += 1) await once();
  const samples = new Float64Array(N);
  for (let i = 0; i < N; i += 1) {
    const t0 = performance.now();
    await once();
    samples[i] = performance.now() - t0;
  }
  samples.sort();
  const r = { label, p50: samples[Math.floor(N * 0.5)], p99: samples[Math.floor(N * 0.99)] };
  console.log(`  ${label.padEnd(28)} p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms`);
  return r;
}

const bare = () =>
  request(url, { dispatcher: agent, headers: { authorization: 'Bearer sk_live_bench_3' } }).then((r) =>
    r.body.arrayBuffer(),
  );
const viaEngine = async () => {
  const res = await engine.call({ url, injections });
  for await (const _ of res.body);
};

const dir = await mkdtemp(join(tmpdir(), 'as-bench-'));
await initAgentSecrets({
  home: join(dir, 'home'),
  cwd: join(dir, 'app'),
  passphrase: 'bench passphrase',
  keychain: 'memory',
});
const core = await createAgentSecrets({
  home: join(dir, 'home'),
  cwd: join(dir, 'app'),
  store: createMemoryStore(),
});
await core.allowlist.add([`http://127.0.0.1:${port}`], await core.unlockOwner('bench passphrase'));
for (const s of secrets) await core.setSecret(s.name, s.bytes());
const viaCore = async () => {
  const res = await core.call({ url, injections, transport: 'cli' });
  for await (const _ of res.body);
};

console.log(`engine overhead, ${N} sequential calls after ${WARMUP} warm-up, 20 secrets in the redactor`);
// Interleave rounds so drift on the machine affects every variant alike.
const rounds = { bare: [], engine: [], core: [] };
for (let round = 0; round < 2; round += 1) {
  rounds.bare.push(await measure(`bare undici (round ${round + 1})`, bare));
  rounds.engine.push(await measure(`engine (round ${round + 1})`, viaEngine));
  rounds.core.push(await measure(`core + audit (round ${round + 1})`, viaCore));
}
const best = (list) => Math.min(...list.map((r) => r.p50));
const added = best(rounds.engine) - best(rounds.bare);
console.log(`  engine added at p50: ${added.toFixed(3)} ms (target <= 0.300)`);
console.log(`  core added at p50:   ${(best(rounds.core) - best(rounds.bare)).toFixed(3)} ms`);
await core.close();
await engine.close();
await agent.close();
server.close();
await rm(dir, { recursive: true, force: true });
