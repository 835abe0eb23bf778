// `agentsecrets run -- true` against bare `true`, measured in the same run in interleaved rounds: through a running
// proxy (the usual path: registration, CA bundle, the bubblewrap sandbox with its bridge) with and without the
// sandbox, and with no proxy running (one started in the run's process, the file vault unlocked: an Argon2id
// derivation). Target (issue 12): <= 300 ms added over the bare command, through a running proxy.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const BIN =
  process.env.AGENTSECRETS_CLI ?? fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'as-bench-run-'));
const cwd = join(root, 'project');
await mkdir(cwd);
const env = {
  PATH: process.env.PATH,
  HOME: join(root, 'home'),
  AGENTSECRETS_HOME: join(root, 'home', '.agentsecrets'),
  AGENTSECRETS_KEYCHAIN: 'file',
  AGENTSECRETS_PASSPHRASE: 'bench owner passphrase',
  NO_COLOR: '1',
};
const sync = (args, input = '') => {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, cwd, input });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
};
sync(['init', '--yes']);
sync(['secrets', 'set', 'GITHUB_TOKEN', '--stdin'], 'ghp_bench0123456789abcdefghijklmnopqrstuv');
const sandbox =
  spawnSync('bwrap', ['--unshare-user', '--unshare-net', '--ro-bind', '/', '/', '--', '/bin/true']).status ===
  0;

const timed = (file, args) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { env, cwd, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args}: ${code}`)),
    );
  });
const cases = {
  'bare true': () => timed('true', []),
  'run --no-sandbox, no proxy running': () =>
    timed(process.execPath, [BIN, 'run', '--no-sandbox', '--', 'true']),
};
const proxy = spawn(process.execPath, [BIN, 'proxy', 'start', '--port', '0'], { env, cwd, stdio: 'ignore' });
while (!existsSync(join(env.AGENTSECRETS_HOME, 'proxy.json'))) await new Promise((r) => setTimeout(r, 50));
cases['run --no-sandbox, running proxy'] = () =>
  timed(process.execPath, [BIN, 'run', '--no-sandbox', '--', 'true']);
if (sandbox)
  cases['run (sandbox), running proxy'] = () => timed(process.execPath, [BIN, 'run', '--', 'true']);
cases['node -e 0 (CLI floor)'] = () => timed(process.execPath, ['-e', '0']);
// The no-proxy case must not see the running proxy: it runs in a second home.
const names = Object.keys(cases);
const samples = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r += 1) {
  for (let i = 0; i < names.length; i += 1) {
    const name = names[(i + r) % names.length];
    if (name === 'run --no-sandbox, no proxy running') continue;
    samples[name].push(await cases[name]());
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
proxy.kill('SIGTERM');
await new Promise((r) => proxy.on('exit', r));
for (let r = 0; r < Math.min(ROUNDS, 3); r += 1) {
  samples['run --no-sandbox, no proxy running'].push(await cases['run --no-sandbox, no proxy running']());
}
const bare = median(samples['bare true']);
console.log('run startup: median wall time of whole processes');
for (const name of names) {
  const m = median(samples[name]);
  console.log(`  ${name.padEnd(38)} ${m.toFixed(1).padStart(8)} ms   added ${(m - bare).toFixed(1)} ms`);
}
console.log('  target: run (sandbox) through a running proxy <= 300 ms added over bare true');
await rm(root, { recursive: true, force: true });
