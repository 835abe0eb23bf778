import {
  type BigIntStats,
  closeSync,
  fstatSync,
  futimesSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentSecretsError } from '@agentsecrets/errors';
import { errnoCode, fileIoError } from './errors.js';
import { escapeName, inFlight, removeLeftovers } from './leftovers.js';
import { isProcessAlive } from './process.js';
import { randomHex } from './random.js';
import { openRegularSync } from './regular.js';

/** Options for {@link withFileLock}. */
export interface FileLockOptions {
  /** How long to wait for another holder before giving up with `FILE_BUSY`. */
  readonly timeoutMs: number;
  /** How old a lock written on another host must be before it is taken as abandoned (its pid cannot be checked). */
  readonly staleMs?: number;
}

/** Checks, just before a commit, that the lock is still ours; throws `FILE_BUSY` when it is not. */
export type AssertLockHeld = () => Promise<void>;

/** {@link AssertLockHeld} for a body that runs at once (see {@link withFileLockNow}). */
export type AssertLockHeldNow = () => void;

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly nonce: string;
}

/**
 * This process's owner file for one lock: its owner (pid, host, a random nonce) written once, kept open, and
 * hard-linked to the lock's name at each acquisition. The lock is ours exactly while its name leads to this file's
 * inode; the open descriptor keeps that inode from being freed and reused while the process lives.
 */
interface OwnerFile {
  readonly path: string;
  readonly fd: number;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly nonce: string;
}

const ownerFiles = new Map<string, OwnerFile>();
let removedAtExit = false;

// The nonces of the owner files this process holds as a lock right now — by nonce, not by path: one lock reached
// under two spellings of its path (a symlink, `dir/./x.lock`) is still held by us. A lock file naming our own pid
// that we do not hold was left by us (a release that could not remove it) or by an earlier process that had the same
// pid (common in containers, where every run is pid 1).
const heldNonces = new Set<string>();

// When this process last removed the leftovers beside each lock.
const swept = new Map<string, number>();
const SWEEP_EVERY_MS = 1_000;

// Callers in one process queue here first, so they wait on a promise rather than by polling the file.
const queues = new Map<string, Promise<unknown>>();

// Every step on the lock's files is a synchronous system call: each is a metadata operation on one small file in the
// home (a local directory), a few microseconds, where the same call through the thread pool costs 5–10 times that in
// CPU and wake-ups. The audit log takes this lock for every batch of events, on the proxy's path. Only the waits
// between attempts (sleep) and the sweep for leftovers are asynchronous.

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

/**
 * A lock as one look saw it: its text, its modification time, and which acquisition it is — device, inode and the
 * modification time its taker set (an owner file is linked again at each acquisition, with a new time), all read
 * through one descriptor so they belong together.
 */
interface SeenLock {
  readonly text: string;
  readonly mtimeMs: number;
  readonly acquisition: string;
}

function acquisitionOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.mtimeNs}`;
}

/**
 * The lock at `path`, or undefined when there is none. Something else at its path (a FIFO, a device, a directory —
 * never one of ours, which are regular files) is not read, and fails the acquisition with `FILE_IO` naming it.
 */
function readLock(path: string): SeenLock | undefined {
  let fd: number;
  try {
    fd = openRegularSync(path, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw fileIoError('read the lock file', path, error);
  }
  try {
    const s = fstatSync(fd, { bigint: true });
    return { text: readFileSync(fd, 'utf8'), mtimeMs: Number(s.mtimeMs), acquisition: acquisitionOf(s) };
  } catch (error) {
    throw fileIoError('read the lock file', path, error);
  } finally {
    closeSync(fd);
  }
}

/** This process's owner file for `lockPath`, written beside it on first use (see {@link OwnerFile}). */
function ownerFile(lockPath: string): OwnerFile {
  const known = ownerFiles.get(lockPath);
  if (known !== undefined) return known;
  const owner: LockOwner = { pid: process.pid, host: hostname(), nonce: randomHex(16) };
  const path = `${lockPath}.${process.pid}.${owner.nonce.slice(0, 12)}.tmp`;
  inFlight.add(path);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx', 0o600);
    writeSync(fd, JSON.stringify(owner));
    const { dev, ino } = fstatSync(fd, { bigint: true });
    const file = { path, fd, dev, ino, nonce: owner.nonce };
    if (!removedAtExit) {
      removedAtExit = true;
      process.once('exit', removeOwnerFiles);
    }
    ownerFiles.set(lockPath, file);
    return file;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    unlinkQuietly(path);
    inFlight.delete(path);
    throw fileIoError('create the lock file', lockPath, error);
  }
}

function dropOwnerFile(lockPath: string, file: OwnerFile): void {
  ownerFiles.delete(lockPath);
  closeSync(file.fd);
  unlinkQuietly(file.path);
  inFlight.delete(file.path);
}

function removeOwnerFiles(): void {
  for (const [lockPath, file] of ownerFiles) dropOwnerFile(lockPath, file);
}

/**
 * Creates the lock with its owner already in it, so a crash can never leave an empty lock: this process's owner file
 * is hard-linked to the lock's name (`link` fails with EEXIST if the lock exists, like `O_EXCL`). Its modification
 * time is set first: a process on another host judges the lock's age by it.
 */
function tryCreate(lockPath: string, retried = false): boolean {
  const file = ownerFile(lockPath);
  try {
    const now = Date.now() / 1000;
    futimesSync(file.fd, now, now);
    linkSync(file.path, lockPath);
    heldNonces.add(file.nonce);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return false;
    dropOwnerFile(lockPath, file);
    // Someone removed the owner file: it is written again, once (a removed directory fails there).
    if (code === 'ENOENT' && !retried) return tryCreate(lockPath, true);
    throw fileIoError('create the lock file', lockPath, error);
  }
}

/** Whether the lock's name leads to this process's owner file: one stat. */
function isOurs(lockPath: string): boolean {
  const file = ownerFiles.get(lockPath);
  if (file === undefined) return false;
  let now: BigIntStats | undefined;
  try {
    // As bigints: inode numbers past 2^53 (overlayfs with xino, some network filesystems) stay exact.
    now = statSync(lockPath, { bigint: true, throwIfNoEntry: false });
  } catch {
    return false;
  }
  return now !== undefined && now.ino === file.ino && now.dev === file.dev;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
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
  | { readonly kind: 'stale'; readonly acquisition: string };

function inspectLock(lockPath: string, staleMs: number): LockState {
  const seen = readLock(lockPath);
  if (seen === undefined) return { kind: 'gone' };
  const stale = { kind: 'stale', acquisition: seen.acquisition } as const;
  const owner = parseOwner(seen.text);
  if (owner !== undefined && owner.host === hostname()) {
    if (owner.pid === process.pid)
      return heldNonces.has(owner.nonce) ? { kind: 'live', pid: owner.pid } : stale;
    return isProcessAlive(owner.pid) ? { kind: 'live', pid: owner.pid } : stale;
  }
  // No owner we can check — another host's (judged by age), or none at all (abandoned after a short grace).
  const limit = owner === undefined ? UNREADABLE_GRACE_MS : staleMs;
  return Date.now() - seen.mtimeMs > limit ? stale : { kind: 'live', pid: owner?.pid };
}

/**
 * Removes a stale lock without racing another process that removes it too: the lock is renamed aside (only one
 * rename can win), and if what was moved turns out not to be the acquisition we saw — a live lock that replaced it
 * in the meantime, or the same holder's owner file taken again — it is linked back (link fails rather than overwrite
 * a newer lock).
 */
function breakStale(lockPath: string, acquisition: string): void {
  const aside = `${lockPath}.stale-${process.pid}-${randomHex(6)}`;
  try {
    renameSync(lockPath, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw fileIoError('remove the stale lock file', lockPath, error);
  }
  try {
    const moved = statSync(aside, { bigint: true, throwIfNoEntry: false });
    if (moved !== undefined && acquisitionOf(moved) !== acquisition) {
      try {
        linkSync(aside, lockPath);
      } catch {
        // a newer lock took the name: it stays
      }
    }
  } finally {
    unlinkQuietly(aside);
  }
}

function release(lockPath: string): void {
  const file = ownerFiles.get(lockPath);
  if (file !== undefined) heldNonces.delete(file.nonce);
  if (isOurs(lockPath)) unlinkQuietly(lockPath);
}

async function acquire(lockPath: string, options: FileLockOptions): Promise<void> {
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + options.timeoutMs;
  let delayMs = 2;
  for (;;) {
    if (tryCreate(lockPath)) {
      // Leftovers come from crashes: looked for at most once a second per lock — not on every acquisition, which is
      // on the audit log's hot path — and at once after a stale lock (a crash) was broken.
      if (Date.now() - (swept.get(lockPath) ?? 0) > SWEEP_EVERY_MS) {
        swept.set(lockPath, Date.now());
        await removeLockLeftovers(lockPath);
      }
      return;
    }
    const state = inspectLock(lockPath, staleMs);
    if (state.kind === 'gone') continue;
    if (state.kind === 'stale') {
      breakStale(lockPath, state.acquisition);
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

function assertOurs(lockPath: string): void {
  if (!isOurs(lockPath)) {
    throw new AgentSecretsError('FILE_BUSY', `lost the lock ${lockPath} before committing`, {
      hint: 'another process removed the lock; try again, nothing was written',
    });
  }
}

/**
 * {@link withFileLock} without waiting, for a hot path: when the lock can be taken at once — nothing in this process
 * holds or waits for it, no other process holds it, and no look for leftovers is due — runs `body` under it
 * synchronously and returns `{ value }` with what it returned. Returns undefined, without running `body`, when the
 * lock would take a wait or a look: take it with {@link withFileLock} then. Throws as withFileLock does when the lock
 * file cannot be created, and what `body` throws (the lock is released either way).
 */
export function withFileLockNow<T>(
  lockPath: string,
  body: (assertHeld: AssertLockHeldNow) => T,
): { value: T } | undefined {
  if (queues.has(lockPath) || Date.now() - (swept.get(lockPath) ?? 0) > SWEEP_EVERY_MS) return undefined;
  if (!tryCreate(lockPath)) return undefined;
  try {
    return { value: body(() => assertOurs(lockPath)) };
  } finally {
    release(lockPath);
  }
}

/**
 * Runs `body` while holding an exclusive lock file at `lockPath`, created like `O_EXCL` and holding this process's
 * pid, host and a random nonce (a hard link to this process's owner file beside it, which is removed at exit). A
 * lock whose pid is dead on this host is taken as abandoned and removed; waiting for a live one is bounded by
 * `timeoutMs` and ends in `FILE_BUSY`. `body` receives a check to call right before it commits, so a holder that was
 * wrongly judged stale does not overwrite another writer's work.
 */
export function withFileLock<T>(
  lockPath: string,
  options: FileLockOptions,
  body: (assertHeld: AssertLockHeld) => Promise<T>,
): Promise<T> {
  const run = async (): Promise<T> => {
    await acquire(lockPath, options);
    const assertHeld: AssertLockHeld = async () => assertOurs(lockPath);
    try {
      return await body(assertHeld);
    } finally {
      release(lockPath);
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
