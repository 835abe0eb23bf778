// `agentsecrets run`'s forward-proxy mode: added latency of a request through CONNECT + TLS termination (leaf from the
// local CA, placeholder swapped by the engine, response redacted, audited) against direct TLS to the same local
// upstream, 1 client, keep-alive on both paths, measured in the same run in interleaved rounds. The upstream and the
// proxy (the real CLI's `proxy start`) each run in their own process. Target (issue 12): p50 added <= 2 ms (MITM
// proxies add 1.7–2.9 ms).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, ProxyAgent, request } from 'undici';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_REQUESTS ?? 400);
const BIN =
  process.env.AGENTSECRETS_CLI ?? fileURLToPath(new URL('../apps/cli/dist/bin.js', import.meta.url));
const VALUE = 'sk_live_bench_forward_proxy_value_0123456789';

const upstreamProc = spawn(
  process.execPath,
  [fileURLToPath(new URL('./support/tls-upstream.mjs', import.meta.url))],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const { port, caPem } = JSON.parse((await once(createInterface({ input: upstreamProc.stdout }), 'line'))[0]);
const root = await mkdtemp(join(tmpdir(), 'as-bench-fwd-'));
const cwd = join(root, 'project');
await mkdir(cwd);
const caFile = join(root, 'upstream-ca.pem');
await writeFile(caFile, caPem);
const env = {
  PATH: process.env.PATH,
  HOME: join(root, 'home'),
  AGENTSECRETS_HOME: join(root, 'home', '.agentsecrets'),
  AGENTSECRETS_KEYCHAIN: 'file',
  AGENTSECRETS_PASSPHRASE: 'bench owner passphrase',
  NODE_EXTRA_CA_CERTS: caFile,
  NO_COLOR: '1',
};
const cli = (args, input = '') =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')}: exit ${code}`)),
    );
    child.stdin.end(input);
  });
await cli(['init', '--yes']);
await cli(['secrets', 'set', 'STRIPE_KEY', '--stdin'], VALUE);
await cli(['allowlist', 'add', `127.0.0.1:${port}`]);
const proxyProc = spawn(process.execPath, [BIN, 'proxy', 'start', '--port', '0'], {
  env,
  cwd,
  stdio: 'ignore',
});
const stateFile = join(env.AGENTSECRETS_HOME, 'proxy.json');
while (!existsSync(stateFile)) await new Promise((r) => setTimeout(r, 50));
const state = JSON.parse(await readFile(stateFile, 'utf8'));
const proxyBase = `http://127.0.0.1:${state.port}`;
const grantRes = await request(`${proxyBase}/runs`, {
  method: 'POST',
  headers: { 'x-as-session-token': state.token, 'content-type': 'application/json' },
  body: JSON.stringify({ agent: 'bench' }),
});
const grant = await grantRes.body.json();
const placeholder = grant.placeholders.STRIPE_KEY;

const target = `https://127.0.0.1:${port}/v1/balance`;
const direct = new Agent({ connect: { ca: caPem }, keepAliveTimeout: 60_000 });
const viaProxy = new ProxyAgent({
  uri: proxyBase,
  token: `Basic ${Buffer.from(`agentsecrets:${grant.token}`).toString('base64')}`,
  requestTls: { ca: grant.caCertificate },
  keepAliveTimeout: 60_000,
});
const once1 = async (dispatcher, key) => {
  const r = await request(target, { dispatcher, headers: { authorization: `Bearer ${key}` } });
  await r.body.arrayBuffer();
  if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
};
async function round(dispatcher, key) {
  const samples = [];
  for (let i = 0; i < PER_ROUND; i += 1) {
    const t0 = performance.now();
    await once1(dispatcher, key);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}
// Warm-up: connections, the leaf certificate, the redactor.
await round(direct, VALUE);
await round(viaProxy, placeholder);
const d = [];
const p = [];
for (let r = 0; r < ROUNDS; r += 1) {
  d.push(await round(direct, VALUE));
  p.push(await round(viaProxy, placeholder));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(d);
const fwd = median(p);
console.log('forward proxy (CONNECT + TLS termination + placeholder swap + redaction + audit), 1 client');
console.log(`  direct TLS p50:    ${base.toFixed(3)} ms   (rounds: ${d.map((x) => x.toFixed(2)).join(' ')})`);
console.log(`  via run proxy p50: ${fwd.toFixed(3)} ms   (rounds: ${p.map((x) => x.toFixed(2)).join(' ')})`);
console.log(`  added: ${(fwd - base).toFixed(3)} ms (target <= 2 ms), ratio ${(fwd / base).toFixed(2)}x`);
await direct.close();
await viaProxy.close();
proxyProc.kill('SIGTERM');
upstreamProc.kill('SIGTERM');
await once(proxyProc, 'exit');
await rm(root, { recursive: true, force: true });
