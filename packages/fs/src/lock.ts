import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentSecretsError } from '@agentsecrets/errors';
import { errnoCode, fileIoError } from './errors.js';
import { escapeName, inFlight, removeLeftovers } from './leftovers.js';
import { isProcessAlive } from './process.js';
import { randomHex } from './random.js';

/** Options for {@link withFileLock}. */
export interface FileLockOptions {
  /** How long to wait for another holder before giving up with `FILE_BUSY`. */
  readonly timeoutMs: number;
  /** How old a lock written on another host must be before it is taken as abandoned (its pid cannot be checked). */
  readonly staleMs?: number;
}

/** Checks, just before a commit, that the lock is still ours; throws `FILE_BUSY` when it is not. */
export type AssertLockHeld = () => Promise<void>;

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly nonce: string;
}

// Nonces of the locks this process holds right now. A lock file naming our own pid but a nonce we do not hold was
// left by an earlier process that had the same pid (common in containers, where every run is pid 1).
const heldNonces = new Set<string>();

// When this process last removed the leftovers beside each lock.
const swept = new Map<string, number>();
const SWEEP_EVERY_MS = 1_000;

// Callers in one process queue here first, so they wait on a promise rather than by polling the file.
const queues = new Map<string, Promise<unknown>>();

/**
 * A lock file with no readable owner cannot be one of ours being written: ours appear with their owner already in
 * them (see {@link tryCreate}). It is left by a crash of an older writer, or by one that is mid-write right now; this
 * grace covers the second case and then the lock is taken as abandoned.
 */
const UNREADABLE_GRACE_MS = 500;

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof value.pid === 'number' &&
      Number.isInteger(value.pid) &&
      value.pid > 0 &&
      typeof value.host === 'string' &&
      typeof value.nonce === 'string'
    ) {
      return { pid: value.pid, host: value.host, nonce: value.nonce };
    }
  } catch {
    // Not JSON: a lock being written right now, or one left half-written by a crash.
  }
  return undefined;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fileIoError('read the lock file', path, error);
  }
}

/**
 * Creates the lock with its owner already in it, so a crash can never leave an empty lock: the owner is written to
 * a temporary file, which is then hard-linked to the lock's name (`link` fails with EEXIST if the lock exists, like
 * `O_EXCL`) and removed. A crash leaves at most the temporary file, removed later by {@link removeLockLeftovers}.
 */
async function tryCreate(lockPath: string, owner: LockOwner): Promise<boolean> {
  const temp = `${lockPath}.${process.pid}.${owner.nonce.slice(0, 12)}.tmp`;
  inFlight.add(temp);
  try {
    try {
      await writeNew(temp, JSON.stringify(owner));
    } catch (error) {
      throw fileIoError('create the lock file', lockPath, error);
    }
    heldNonces.add(owner.nonce);
    try {
      await link(temp, lockPath);
      return true;
    } catch (error) {
      heldNonces.delete(owner.nonce);
      if (errnoCode(error) === 'EEXIST') return false;
      throw fileIoError('create the lock file', lockPath, error);
    }
  } finally {
    await unlink(temp).catch(() => undefined);
    inFlight.delete(temp);
  }
}

async function writeNew(path: string, text: string): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/** Removes what killed lock takers left beside the lock: owner files never linked, stale locks moved aside. */
async function removeLockLeftovers(lockPath: string): Promise<void> {
  const name = escapeName(basename(lockPath));
  await removeLeftovers(dirname(lockPath), new RegExp(`^${name}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`));
  await removeLeftovers(dirname(lockPath), new RegExp(`^${name}\\.stale-(\\d+)-[0-9a-f]{12}$`));
}

type LockState =
  | { readonly kind: 'gone' }
  | { readonly kind: 'live'; readonly pid: number | undefined }
  | { readonly kind: 'stale'; readonly text: string };

async function inspectLock(lockPath: string, staleMs: number): Promise<LockState> {
  const text = await readText(lockPath);
  if (text === undefined) return { kind: 'gone' };
  const owner = parseOwner(text);
  if (owner !== undefined && owner.host === hostname()) {
    if (owner.pid === process.pid) {
      return heldNonces.has(owner.nonce) ? { kind: 'live', pid: owner.pid } : { kind: 'stale', text };
    }
    return isProcessAlive(owner.pid) ? { kind: 'live', pid: owner.pid } : { kind: 'stale', text };
  }
  // No owner we can check — another host's (judged by age), or none at all (abandoned after a short grace).
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(lockPath)).mtimeMs;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { kind: 'gone' };
    throw fileIoError('inspect the lock file', lockPath, error);
  }
  const limit = owner === undefined ? UNREADABLE_GRACE_MS : staleMs;
  return Date.now() - mtimeMs > limit ? { kind: 'stale', text } : { kind: 'live', pid: owner?.pid };
}

/**
 * Removes a stale lock without racing another process that removes it too: the lock is renamed aside (only one
 * rename can win), and if what was moved turns out not to be the stale lock we saw, a live lock that replaced it in
 * the meantime, it is linked back (link fails rather than overwrite a newer lock).
 */
async function breakStale(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${randomHex(6)}`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw fileIoError('remove the stale lock file', lockPath, error);
  }
  try {
    const moved = await readText(aside);
    if (moved !== staleText) {
      await link(aside, lockPath).catch(() => undefined);
    }
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

async function release(lockPath: string, owner: LockOwner): Promise<void> {
  heldNonces.delete(owner.nonce);
  const text = await readText(lockPath).catch(() => undefined);
  if (text !== undefined && parseOwner(text)?.nonce === owner.nonce) {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function acquire(lockPath: string, options: FileLockOptions): Promise<LockOwner> {
  const owner: LockOwner = { pid: process.pid, host: hostname(), nonce: randomHex(16) };
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + options.timeoutMs;
  let delayMs = 2;
  for (;;) {
    if (await tryCreate(lockPath, owner)) {
      // Leftovers come from crashes: looked for at most once a second per lock — not on every acquisition, which is
      // on the audit log's hot path — and at once after a stale lock (a crash) was broken.
      if (Date.now() - (swept.get(lockPath) ?? 0) > SWEEP_EVERY_MS) {
        swept.set(lockPath, Date.now());
        await removeLockLeftovers(lockPath);
      }
      return owner;
    }
    const state = await inspectLock(lockPath, staleMs);
    if (state.kind === 'gone') continue;
    if (state.kind === 'stale') {
      await breakStale(lockPath, state.text);
      swept.delete(lockPath);
      continue;
    }
    if (Date.now() >= deadline) {
      const holder = state.pid === undefined ? 'another process' : `process ${state.pid}`;
      throw new AgentSecretsError(
        'FILE_BUSY',
        `${holder} holds ${lockPath}; gave up waiting after ${options.timeoutMs} ms`,
        {
          hint: 'try again in a moment; if no agentsecrets process is running, delete the lock file',
        },
      );
    }
    // Jitter keeps several waiters from retrying in lockstep.
    await sleep(delayMs + Math.random() * delayMs);
    delayMs = Math.min(delayMs * 2, 50);
  }
}

/**
 * Runs `body` while holding an exclusive lock file at `lockPath`, created with `O_EXCL` and holding this process's
 * pid, host and a random nonce. A lock whose pid is dead on this host is taken as abandoned and removed; waiting for
 * a live one is bounded by `timeoutMs` and ends in `FILE_BUSY`. `body` receives a check to call right before it
 * commits, so a holder that was wrongly judged stale does not overwrite another writer's work.
 */
export function withFileLock<T>(
  lockPath: string,
  options: FileLockOptions,
  body: (assertHeld: AssertLockHeld) => Promise<T>,
): Promise<T> {
  const run = async (): Promise<T> => {
    const owner = await acquire(lockPath, options);
    const assertHeld: AssertLockHeld = async () => {
      const text = await readText(lockPath);
      if (text === undefined || parseOwner(text)?.nonce !== owner.nonce) {
        throw new AgentSecretsError('FILE_BUSY', `lost the lock ${lockPath} before committing`, {
          hint: 'another process removed the lock; try again, nothing was written',
        });
      }
    };
    try {
      return await body(assertHeld);
    } finally {
      await release(lockPath, owner);
    }
  };
  const previous = queues.get(lockPath) ?? Promise.resolve();
  const result = previous.then(run, run);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  queues.set(lockPath, tail);
  void tail.then(() => {
    if (queues.get(lockPath) === tail) queues.delete(lockPath);
  });
  return result;
}
