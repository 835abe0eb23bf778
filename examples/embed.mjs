// Embedding @agentsecrets/core in another tool: one authenticated call by secret name, with the value redacted
// from the answer and the use recorded in the audit log. Runs on its own with a throwaway home and an in-memory
// store:  node examples/embed.mjs   (after `pnpm build`)

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAgentSecrets,
  createMemoryStore,
  initAgentSecrets,
  parseInjectionObject,
  readLast,
} from '@agentsecrets/core';

// A careless API that echoes the Authorization header it receives.
const api = createServer((req, res) => res.end(`you sent: ${req.headers.authorization}\n`));
await new Promise((r) => api.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${api.address().port}`;

const dir = await mkdtemp(join(tmpdir(), 'agentsecrets-embed-'));
const home = join(dir, 'home');
const cwd = join(dir, 'project');
const passphrase = 'example owner passphrase';

// One-time setup: the owner key, a personal workspace and a project linked to `cwd`.
await initAgentSecrets({ home, cwd, passphrase, keychain: 'memory' });
const as = await createAgentSecrets({ home, cwd, store: createMemoryStore() });

// Owner actions (widening what agents can reach) need the passphrase.
await as.allowlist.add([origin], await as.unlockOwner(passphrase));
await as.setSecret('DEMO_KEY', 'sk_demo_0123456789abcdef');

// What an agent-facing tool does: name the credential, never hold it.
const res = await as.fetch({
  url: `${origin}/v1/balance`,
  injections: parseInjectionObject({ bearer: 'DEMO_KEY' }),
  transport: 'cli',
  agentId: 'embed-example',
});
console.log(`HTTP ${res.status} redacted=${res.redacted}: ${res.body.toString().trim()}`);

await as.close();
const [event] = await readLast(as.auditPath, 1);
console.log(
  'audit:',
  JSON.stringify({ target: event.target, secret_keys: event.secret_keys, status: event.status }),
);
api.close();
await rm(dir, { recursive: true, force: true });
