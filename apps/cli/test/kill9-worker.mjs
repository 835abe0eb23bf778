// A writer for the kill -9 loop: vault writes and audit appends in parallel, through the built packages, printing
// "ack" only once each write has resolved. Killed at random moments by the test.
import { randomBytes } from 'node:crypto';

const [keychainUrl, auditUrl, vaultPath, auditPath, id] = process.argv.slice(2);
const { openFileVault } = await import(keychainUrl);
const { AuditLog } = await import(auditUrl);

const store = await openFileVault({ path: vaultPath, passphrase: 'kill9 passphrase', lockTimeoutMs: 20_000 });
const log = new AuditLog({ path: auditPath, denials: false, lockTimeoutMs: 20_000 });
const ns = { workspace: 'local', project: 'kill9' };
const say = (text) => process.stdout.write(`${text}\n`);
say('ready');

async function vaultLoop() {
  for (let seq = 0; ; seq += 1) {
    const key = `K_${id}_${seq % 3}`;
    const value = `${id}.${seq}.${randomBytes(8).toString('hex')}`;
    say(`try vault ${key} ${value}`);
    await store.set(ns, key, value);
    say(`ack vault ${key} ${value}`);
  }
}

async function auditLoop() {
  for (let seq = 0; ; seq += 1) {
    await log.append({
      transport: 'cli',
      agent_id: `w${id}`,
      method: 'POST',
      target: 'https://api.example.com/v1/kill9',
      secret_keys: ['API_KEY'],
      styles: ['bearer'],
      status: 'OK',
      reason: null,
      http_status: 200,
      redacted: false,
      duration_ms: seq,
    });
    say(`ack audit ${id} ${seq}`);
  }
}

await Promise.all([vaultLoop(), auditLoop()]);
