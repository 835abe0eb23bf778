// The kill -9 loop: writers doing vault writes and audit appends in parallel are killed at random moments for ~25 s.
// Afterwards every acknowledged write must be there (a vault key holds its last acknowledged value, or the one that
// was in flight when its writer died), every acknowledged audit event is in the log exactly once, the log verifies
// (torn writes allowed, nothing else), nothing left behind blocks or slows the next write, and no temporary file
// or lock of a killed writer is left once the next write has run.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const distUrl = (pkg: string) => pathToFileURL(join(root, 'packages', pkg, 'dist', 'index.js')).href;
const WORKER = fileURLToPath(new URL('./kill9-worker.mjs', import.meta.url));
const KEYCHAIN = distUrl('keychain');
const AUDIT = distUrl('audit');

const DURATION_MS = 25_000;
/** Kills the loop makes at least: on a loaded machine writers start slowly, so it runs past DURATION_MS (up to 4×). */
const MIN_KILLS = 30;
const WRITERS = 3;
const NS = { workspace: 'local', project: 'kill9' };

let dir: string;
let vaultPath: string;
let auditPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-kill9-'));
  vaultPath = join(dir, 'home', 'vault.json');
  auditPath = join(dir, 'home', 'audit.jsonl');
  const { openFileVault } = (await import(KEYCHAIN)) as typeof import('@agentsecrets/keychain');
  // The lowest Argon2id cost the vault accepts, so each restarted writer unlocks in tens of milliseconds.
  const store = await openFileVault({
    path: vaultPath,
    passphrase: 'kill9 passphrase',
    kdfParams: { memoryKiB: 19 * 1024, iterations: 2, parallelism: 1 },
  });
  await store.set(NS, 'SEED', 'seed value');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Writer {
  readonly child: ChildProcess;
  readonly id: string;
  text: string;
  ready: boolean;
}

function startWriter(id: string): Writer {
  const child = spawn(process.execPath, [WORKER, KEYCHAIN, AUDIT, vaultPath, auditPath, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const writer: Writer = { child, id, text: '', ready: false };
  child.stdout?.on('data', (c: Buffer) => {
    writer.text += c.toString('utf8');
    if (!writer.ready && writer.text.includes('ready\n')) writer.ready = true;
  });
  child.stderr?.on('data', (c: Buffer) => {
    writer.text += `stderr ${c.toString('utf8')}`;
  });
  return writer;
}

describe('kill -9 at random moments, vault writes and audit appends in parallel', () => {
  it('loses no acknowledged write and leaves nothing that blocks the next one', async () => {
    const finished: Writer[] = [];
    let next = 0;
    let kills = 0;
    const end = Date.now() + DURATION_MS;
    const hardEnd = Date.now() + 4 * DURATION_MS;
    // Each writer is killed at a random moment of its work: 0-400 ms after it has unlocked the vault. As soon as one
    // dies another starts, so WRITERS of them are always at it.
    const lifetime = async (w: Writer): Promise<void> => {
      for (let waited = 0; !w.ready && w.child.exitCode === null && waited < 20_000; waited += 10)
        await sleep(10);
      await sleep(Math.random() * 400);
      if (Math.random() < 0.5) {
        // Half the time, aim at a vault write in progress: a few milliseconds after the writer starts one.
        const tries = w.text.split('try vault').length;
        for (let i = 0; i < 200 && w.text.split('try vault').length === tries; i += 1) await sleep(2);
        await sleep(Math.random() * 15);
      }
      w.child.kill('SIGKILL');
      await new Promise((resolve) =>
        w.child.exitCode !== null || w.child.signalCode !== null
          ? resolve(null)
          : w.child.once('exit', resolve),
      );
      finished.push(w);
    };
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while ((Date.now() < end || kills < MIN_KILLS) && Date.now() < hardEnd) {
          await lifetime(startWriter(`w${next++}`));
          kills += 1;
        }
      }),
    );
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    for (const w of finished) expect(w.text).not.toMatch(/stderr/);

    // What each writer acknowledged (complete lines only; a killed writer's last line may be cut).
    const lastAcked = new Map<string, string>();
    const inFlight = new Map<string, string>();
    const ackedEvents = new Set<string>();
    for (const w of finished) {
      for (const line of w.text.split('\n').slice(0, -1)) {
        const [verb, kind, a, b] = line.split(' ');
        if (kind === 'vault' && verb === 'ack') lastAcked.set(a as string, b as string);
        if (kind === 'vault' && verb === 'try') inFlight.set(a as string, b as string);
        if (kind === 'audit' && verb === 'ack') ackedEvents.add(`w${a}:${b}`);
      }
    }
    expect(lastAcked.size).toBeGreaterThan(20);
    expect(ackedEvents.size).toBeGreaterThan(100);

    // The next write is not blocked by anything a killed writer left (a stale lock used to block it for 30 s).
    const { openFileVault } = (await import(KEYCHAIN)) as typeof import('@agentsecrets/keychain');
    const started = Date.now();
    const store = await openFileVault({
      path: vaultPath,
      passphrase: 'kill9 passphrase',
      lockTimeoutMs: 10_000,
    });
    await store.set(NS, 'AFTER', 'after the storm');
    const { AuditLog, verifyAuditLog } = (await import(AUDIT)) as typeof import('@agentsecrets/audit');
    await new AuditLog({ path: auditPath, lockTimeoutMs: 10_000 }).append({
      transport: 'cli',
      agent_id: 'after',
      method: 'GET',
      target: 'https://api.example.com/after',
      secret_keys: [],
      styles: [],
      status: 'OK',
      reason: null,
      http_status: 200,
      redacted: false,
      duration_ms: 0,
    });
    expect(Date.now() - started).toBeLessThan(5_000);

    // Every acknowledged vault write is there: the last acknowledged value, or the write in flight at the kill.
    for (const [key, acked] of lastAcked) {
      const value = (await store.get(NS, key))?.text();
      const allowed = [acked, inFlight.get(key)];
      expect(allowed, `${key} holds ${value}`).toContain(value);
    }
    expect((await store.get(NS, 'SEED'))?.text()).toBe('seed value');

    // Every acknowledged audit event is in the log exactly once, and the chain holds (torn writes aside). The
    // writers may fill the live file and rotate it: the rotated files are read too.
    const seen = new Map<string, number>();
    const rotated = (await readdir(join(dir, 'home'))).filter((n) => /^audit\.jsonl\.\d+$/.test(n));
    const logText = (
      await Promise.all(
        [...rotated.map((n) => join(dir, 'home', n)), auditPath].map((p) => readFile(p, 'utf8')),
      )
    ).join('\n');
    for (const line of logText.split('\n')) {
      try {
        const e = JSON.parse(line) as { agent_id: string; duration_ms: number };
        const key = `${e.agent_id}:${e.duration_ms}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      } catch {
        // a torn line
      }
    }
    for (const key of ackedEvents) expect(seen.get(key), key).toBe(1);
    const verified = await verifyAuditLog(auditPath);
    expect(verified.problems ?? []).toEqual([]);
    expect(verified.ok).toBe(true);

    // Nothing of a killed writer is left once the next writes have run: no temporary file, no lock, no aside. This
    // process's own owner files of the two locks stay while it lives (see withFileLock).
    const left = (await readdir(join(dir, 'home'))).filter(
      (n) =>
        (n.endsWith('.tmp') || n.includes('.lock') || n.includes('.stale-')) &&
        !new RegExp(`^(vault\\.json|audit\\.jsonl)\\.lock\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`).test(n),
    );
    expect(left).toEqual([]);
  }, 200_000);
});
