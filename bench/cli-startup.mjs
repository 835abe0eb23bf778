// Cold start of the built CLI (apps/cli/dist/bin.js, or AGENTSECRETS_CLI), each figure as a ratio to `node -e 0`
// measured in the same run: `--version`, `--help`, and, through a running proxy (the agent's path: the CLI opens no
// vault), `secrets list` and one `call` to a loopback JSON API; then `mcp serve` until it answers `initialize`.
// Every round runs each command once, in a rotated order, so load on the machine falls on all of them alike; the
// figure is the median of the rounds. Targets (issue 13): --version/--help <= 2x; secrets list and call through the
// proxy <= 150 ms; mcp serve ready for initialize <= 300 ms.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startJsonApi } from './support/json-api.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const BIN =
  process.env.AGENTSECRETS_CLI ?? fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));

const root = await mkdtemp(join(tmpdir(), 'as-bench-cli-'));
const cwd = join(root, 'project');
await mkdir(cwd);
const env = {
  PATH: process.env.PATH,
  HOME: join(root, 'home'),
  AGENTSECRETS_HOME: join(root, 'home', '.agentsecrets'),
  AGENTSECRETS_KEYCHAIN: 'file',
  NO_COLOR: '1',
};
const ownerEnv = { ...env, AGENTSECRETS_PASSPHRASE: 'bench owner passphrase' };

/** Runs one process to its end; resolves with its wall time in ms. `until` ends it early once stdout matches. */
function timed(args, { input = '', environment = env, until } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env: environment, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let ended = false;
    child.stdout.on('data', (c) => {
      out += c;
      if (until !== undefined && !ended && until.test(out)) {
        ended = true;
        resolve(performance.now() - t0);
        child.kill();
      }
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (ended) return;
      if (code !== 0) reject(new Error(`${args.slice(1).join(' ')} exited ${code}: ${err.trim()}`));
      else resolve(performance.now() - t0);
    });
    child.stdin.end(input);
  });
}

const cli = (...args) => [BIN, ...args];
const api = await startJsonApi();
const target = `http://127.0.0.1:${api.address().port}/v1/balance`;
const initialize = `${JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
})}\n`;

let failed = false;
try {
  await timed(cli('init', '--yes'), { environment: ownerEnv });
  await timed(cli('secrets', 'set', 'BENCH_KEY', '--stdin'), {
    environment: ownerEnv,
    input: 'sk_live_bench_startup_value',
  });
  await timed(cli('allowlist', 'add', `http://127.0.0.1:${api.address().port}`), { environment: ownerEnv });
  await timed(cli('proxy', 'start', '--detach', '--port', '0'), { environment: ownerEnv });

  const cases = [
    ['node -e 0', () => timed(['-e', '0'])],
    ['--version', () => timed(cli('--version'))],
    ['--help', () => timed(cli('--help'))],
    ['secrets list (proxy)', () => timed(cli('secrets', 'list'))],
    ['call (proxy)', () => timed(cli('call', '--url', target, '--bearer', 'BENCH_KEY'))],
    ['mcp serve → initialize', () => timed(cli('mcp', 'serve'), { input: initialize, until: /"id":1/ })],
  ];
  for (const [, run] of cases) await run(); // warm the file cache
  const samples = cases.map(() => []);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (let k = 0; k < cases.length; k += 1) {
      const i = (k + round) % cases.length;
      samples[i].push(await cases[i][1]());
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(samples[0]);
  const targets = {
    '--version': (ms) => ms <= 2 * base,
    '--help': (ms) => ms <= 2 * base,
    'secrets list (proxy)': (ms) => ms <= 150,
    'call (proxy)': (ms) => ms <= 150,
    'mcp serve → initialize': (ms) => ms <= 300,
  };
  console.log(`CLI cold start, median of ${ROUNDS} (${BIN})`);
  cases.forEach(([name], i) => {
    const ms = median(samples[i]);
    const check = targets[name];
    const verdict = check === undefined ? '' : check(ms) ? '  target met' : '  target not met';
    console.log(`  ${name.padEnd(24)} ${ms.toFixed(0).padStart(5)} ms  ${(ms / base).toFixed(2)}x${verdict}`);
  });
} catch (e) {
  failed = true;
  console.error(e instanceof Error ? e.message : e);
} finally {
  await timed(cli('proxy', 'stop')).catch(() => {});
  api.close();
  await rm(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
