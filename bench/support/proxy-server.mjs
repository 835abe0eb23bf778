// The AgentSecrets proxy as a user runs it: its own process, a real home, 20 secrets, the upstream allowlisted.
// Prints its URL and session token; on a line "rss" on stdin it prints its RSS, on "exit" it exits.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentSecrets, createMemoryStore, initAgentSecrets } from '@agentsecrets/core';
import { startProxyServer } from '@agentsecrets/proxy';

const upstreamPort = process.argv[2];
const dir = await mkdtemp(join(tmpdir(), 'as-bench-proxy-'));
const home = join(dir, 'home');
const cwd = join(dir, 'app');
await initAgentSecrets({ home, cwd, passphrase: 'bench passphrase', keychain: 'memory' });
const core = await createAgentSecrets({ home, cwd, store: createMemoryStore() });
await core.allowlist.add([`http://127.0.0.1:${upstreamPort}`], await core.unlockOwner('bench passphrase'));
for (let i = 0; i < 20; i += 1) await core.setSecret(`KEY_${i}`, `sk_live_bench_${i}_${'y'.repeat(24)}`);
const proxy = await startProxyServer({ core, port: 0 });
console.log(JSON.stringify({ url: proxy.url, token: proxy.token, home }));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  if (d.includes('exit')) process.exit(0);
  if (d.includes('rss')) {
    global.gc?.();
    console.log(JSON.stringify({ rss: process.memoryUsage().rss }));
  }
});
