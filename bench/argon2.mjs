// Argon2id cost at the default parameters (what every unlock pays), against the floor parameters measured in the
// same run as the baseline.
import { DEFAULT_KDF_PARAMS, deriveKey, KDF_FLOORS, randomBytes } from '@agentsecrets/crypto';

async function time(params, runs) {
  const salt = randomBytes(16);
  await deriveKey('warm-up', salt, params);
  const samples = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    await deriveKey('bench passphrase', salt, params);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(runs / 2)], min: samples[0], max: samples[runs - 1] };
}

const floor = { memoryKiB: KDF_FLOORS.memoryKiB, iterations: KDF_FLOORS.iterations, parallelism: 1 };
const base = await time(floor, 7);
const def = await time(DEFAULT_KDF_PARAMS, 7);
const fmt = (r) => `median ${r.median.toFixed(1)} ms (min ${r.min.toFixed(1)}, max ${r.max.toFixed(1)})`;
console.log('argon2id');
console.log(`  floor   m=19 MiB t=2 p=1:  ${fmt(base)}`);
console.log(`  default m=64 MiB t=3 p=4:  ${fmt(def)}`);
console.log(`  default / floor: ${(def.median / base.median).toFixed(2)}x`);
