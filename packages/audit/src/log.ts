import { type BigIntStats, statSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AgentSecretsError, isAgentSecretsError } from '@agentsecrets/errors';
import { type AssertLockHeldNow, withFileLock, withFileLockNow } from '@agentsecrets/fs';
import { type DenialOptions, DenialSummaries } from './internal/denials.js';
import { lineHash, readTail, rotatedIndexes, rotatedPath } from './internal/files.js';
import { FreeSpace } from './internal/free-space.js';
import { causedBy, ioCode, ioError, owedError } from './internal/io-errors.js';
import { LiveFile } from './internal/live-file.js';
import { ProbeCheck } from './internal/probe.js';
import { applyRetention } from './internal/retention.js';
import { type AuditEvent, type AuditEventInput, validateInput } from './schema.js';

/** The `prev` of the first line ever written: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** Options of {@link AuditLog}. */
export interface AuditLogOptions {
  /** The live file, e.g. `~/.agentsecrets/audit.jsonl`. Its directory is created (0700) when missing. */
  readonly path: string;
  /** Size at which the live file is rotated before the next append. Default 10 MiB. */
  readonly maxBytes?: number;
  /** Rotated files kept whatever their age (`audit.jsonl.1` … `.N`, `.1` the newest). Default 5, at least 1. */
  readonly maxFiles?: number;
  /**
   * Rotated files younger than this (by their last write) are kept past `maxFiles`, so a burst of events cannot
   * rotate recent history away. Default 30 days.
   */
  readonly keepMs?: number;
  /** Rotated files kept at most, however young: bounds the disk the log can take. Default 50. */
  readonly hardMaxFiles?: number;
  /** Summaries of repeated denials (see `DenialSummaries`); `false` writes every denial. */
  readonly denials?: DenialOptions | false;
  /**
   * Free space the log's filesystem must have for {@link AuditLog.ready} to let a call go ahead. Default 1 MiB.
   */
  readonly minFreeBytes?: number;
  /** How long an append waits for another process's lock before failing with `AUDIT_IO`. Default 10 s. */
  readonly lockTimeoutMs?: number;
}

/** An event's id: derived from its own content, so an edited line no longer matches its id. */
export function eventId(withoutId: Omit<AuditEvent, 'id'> | Record<string, unknown>): string {
  const sorted = Object.keys(withoutId)
    .filter((k) => k !== 'id')
    .sort()
    .map((k) => [k, (withoutId as Record<string, unknown>)[k]]);
  return `ev_${lineHash(JSON.stringify(sorted)).slice(0, 32)}`;
}

/**
 * Serializes an event in its one canonical form: ts, id, prev, then the other fields in schema order. The verifier
 * re-serializes each line it reads and compares bytes, so an edit that leaves this form is named at its own line.
 */
export function serialize(event: AuditEvent): string {
  const { ts, id, prev, ...rest } = event;
  return JSON.stringify({ ts, id, prev, ...rest });
}

interface Pending {
  /** Undefined: no new event, only a try at writing the owed ones. */
  readonly fields: AuditEventInput | undefined;
  readonly resolve: (e: AuditEvent | undefined) => void;
  readonly reject: (e: unknown) => void;
}

/** What changes whenever the file is written or replaced: device, inode, size, modification and change times (ns). */
function stampOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** Where a batch chains on: the newest line's hash, whether it was torn, and the live file's stat (if there is one). */
interface ChainTail {
  readonly prev: string;
  readonly torn: boolean;
  readonly live: BigIntStats | undefined;
}

/** Appends written in one batch at most: bounds one write and the time one lock is held. */
const MAX_BATCH = 1000;

/**
 * The append-only, hash-chained audit log. Each line holds the hash of the line before it (`prev`) and an id derived
 * from its own content, so an edited, deleted or reordered line is found by {@link verifyAuditLog}. Several
 * processes (proxy, CLI, MCP server) append safely: each append holds an exclusive lock file while it reads the last
 * line's hash from the file's tail, rotates if the file is full, and appends whole lines in one write. The common
 * steps (a stat, one write to the file held open, an fstat) are synchronous system calls, as the lock's are (see
 * `withFileLock`): microseconds each on the home's local filesystem, where a trip through the thread pool costs
 * several times that; reading a tail back and rotating, which are rare, stay asynchronous.
 *
 * @example
 * ```ts
 * const log = new AuditLog({ path: `${home}/audit.jsonl` });
 * await log.append({ transport: 'cli', agent_id: null, method: 'GET', target: 'https://api.stripe.com/v1/balance',
 *   secret_keys: ['STRIPE_KEY'], styles: ['bearer'], status: 'OK', reason: null, http_status: 200,
 *   redacted: false, duration_ms: 182.4 });
 * ```
 */
export class AuditLog {
  /** The live file. */
  readonly path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #keepMs: number;
  readonly #hardMaxFiles: number;
  readonly #lockTimeoutMs: number;
  readonly #minFreeBytes: number;
  readonly #pending: Pending[] = [];
  /** Events whose write failed, oldest first: written before anything newer, and until then calls are refused. */
  #owed: AuditEventInput[] = [];
  readonly #denials: DenialSummaries | undefined;
  #writing = false;
  /** Whether this process made (or found) the log's directory; looked for again after any failed write. */
  #dirMade = false;
  /**
   * The hash of the last line this process wrote and the live file's stamp right after: while the stamp is unchanged
   * no one else has written, so the next append chains from it without reading the tail back.
   */
  #tail: { readonly stamp: string; readonly prev: string } | undefined;
  readonly #live: LiveFile;
  readonly #probes = new ProbeCheck();
  readonly #free: FreeSpace;

  constructor(options: AuditLogOptions) {
    this.path = options.path;
    this.#live = new LiveFile(options.path);
    this.#maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.#maxFiles = Math.max(1, Math.floor(options.maxFiles ?? 5));
    this.#keepMs = options.keepMs ?? 30 * 24 * 3600 * 1000;
    this.#hardMaxFiles = Math.max(this.#maxFiles, Math.floor(options.hardMaxFiles ?? 50));
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.#minFreeBytes = options.minFreeBytes ?? 1024 * 1024;
    this.#free = new FreeSpace(dirname(options.path), (e) =>
      ioError('check free space for', options.path, e),
    );
    this.#denials =
      options.denials === false
        ? undefined
        : new DenialSummaries(options.denials ?? {}, (summary) => {
            this.#enqueue(summary).catch(() => undefined);
          });
  }

  /**
   * Fail closed: resolves when an event appended now can be expected to be written, and rejects with `AUDIT_IO`
   * otherwise — so a caller checks this before it sends anything and refuses the call when it rejects. It rejects
   * while earlier events are owed (their write failed; this tries them again first), when the filesystem holding the
   * log has less than `minFreeBytes` free, and — given `probe`, the event the caller will record — when that event
   * would not validate (`AUDIT_EVENT_INVALID`).
   */
  async ready(probe?: AuditEventInput): Promise<void> {
    if (probe !== undefined) this.#probes.check(probe);
    if (this.#owed.length > 0) await this.#flush();
    const free = await this.#free.bytes();
    if (free !== undefined && free < this.#minFreeBytes) {
      throw new AgentSecretsError(
        'AUDIT_IO',
        `the disk holding the audit log ${this.path} is full (${Math.floor(free / 1024)} KiB free); calls are refused until it can record them`,
        { hint: 'free disk space in the AgentSecrets home' },
      );
    }
  }

  /**
   * {@link ready} without waiting, for a caller on a hot path: true when it is known now that an event appended now
   * can be written — nothing is owed and the last free-space reading, taken within 100 ms, was enough. False when
   * that takes a look: await {@link ready} then, which also gives the reason. Throws as ready() for an invalid probe.
   */
  readyNow(probe?: AuditEventInput): boolean {
    if (probe !== undefined) this.#probes.check(probe);
    const free = this.#free.known();
    if (this.#owed.length > 0 || free === undefined) return false;
    return free.bytes === undefined || free.bytes >= this.#minFreeBytes;
  }

  /** Writes pending denial summaries and tries owed events once more. Rejects with `AUDIT_IO` if some stay unwritten. */
  async close(): Promise<void> {
    this.#denials?.flush();
    try {
      await this.#flush();
    } finally {
      this.#live.close();
    }
  }

  /** Waits for everything queued, then tries the owed events; rejects with `AUDIT_IO` while some stay unwritten. */
  async #flush(): Promise<void> {
    await new Promise<AuditEvent | undefined>((resolve, reject) => {
      this.#pending.push({ fields: undefined, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Validates and appends one event; resolves with it as written, or with undefined when it was a denial counted into
   * a summary (see `DenialSummaries`). Rejects with `AUDIT_EVENT_INVALID` (naming the
   * field, never its content) before anything is written, or with `AUDIT_IO`. Events appended in one turn of the
   * event loop, or while a write is in progress, are written together at its end, under one lock and in one `write`,
   * in the order they were appended — so a busy proxy pays one lock per batch, not per call.
   */
  append(input: AuditEventInput): Promise<AuditEvent | undefined> {
    let fields: AuditEventInput;
    try {
      fields = validateInput(input);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#denials !== undefined && !this.#denials.admit(fields)) return Promise.resolve(undefined);
    return this.#enqueue(fields);
  }

  #enqueue(fields: AuditEventInput): Promise<AuditEvent | undefined> {
    return new Promise<AuditEvent | undefined>((resolve, reject) => {
      this.#pending.push({ fields, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Starts a write at the end of this turn of the event loop unless one is under way: what is appended in the same
   * turn (a proxy under load finishes many calls in one) goes in one batch, under one lock and in one write.
   */
  #schedule(): void {
    if (this.#writing) return;
    this.#writing = true;
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_BATCH);
      const owed = this.#owed;
      const fresh = batch.flatMap((b) => (b.fields === undefined ? [] : [b.fields]));
      try {
        const events = owed.length + fresh.length === 0 ? [] : await this.#write([...owed, ...fresh]);
        this.#owed = [];
        let i = owed.length;
        for (const b of batch) b.resolve(b.fields === undefined ? undefined : (events[i++] as AuditEvent));
      } catch (e) {
        // Kept, in order, to be written before anything newer; calls are refused meanwhile (see ready()).
        this.#owed = [...owed, ...fresh];
        for (const b of batch)
          b.reject(b.fields === undefined ? owedError(this.path, this.#owed.length, e) : e);
      }
    }
    this.#writing = false;
  }

  /** Events that could not be written yet (kept in memory and tried again). */
  get owed(): number {
    return this.#owed.length;
  }

  async #write(batch: readonly AuditEventInput[]): Promise<AuditEvent[]> {
    const dirKnown = this.#dirMade;
    if (!dirKnown) await this.#makeDir();
    try {
      return await this.#writeLocked(batch);
    } catch (e) {
      this.#dirMade = false;
      this.#tail = undefined;
      // The directory was there at an earlier write and has been removed since: made again, as on a first write.
      if (!dirKnown || !causedBy(e, 'ENOENT')) throw e;
      await this.#makeDir();
      return await this.#writeLocked(batch);
    }
  }

  async #makeDir(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 }).catch((e: unknown) => {
      throw ioError('create the directory of', this.path, e);
    });
    this.#dirMade = true;
  }

  async #writeLocked(batch: readonly AuditEventInput[]): Promise<AuditEvent[]> {
    const lockPath = `${this.path}.lock`;
    try {
      // The common case, without a wait or a turn of the event loop: the lock is free and the live file is as this
      // process left it, so the chain goes on from the hash it kept.
      const now = withFileLockNow(lockPath, (assertHeld) => {
        let live: BigIntStats | undefined;
        try {
          live = statSync(this.path, { bigint: true, throwIfNoEntry: false });
        } catch (e) {
          throw this.#commitError(e);
        }
        const tail = this.#tail;
        if (
          live === undefined ||
          tail === undefined ||
          tail.stamp !== stampOf(live) ||
          Number(live.size) >= this.#maxBytes
        )
          return undefined;
        return this.#commit(batch, { prev: tail.prev, torn: false, live }, assertHeld);
      });
      if (now?.value !== undefined) return now.value;
      return await withFileLock(
        lockPath,
        { timeoutMs: this.#lockTimeoutMs, staleMs: 10_000 },
        async (assertHeld) => {
          let tail: ChainTail;
          try {
            tail = await this.#chainTail();
            await assertHeld();
          } catch (e) {
            throw this.#commitError(e);
          }
          return this.#commit(batch, tail, () => undefined);
        },
      );
    } catch (e) {
      if (isAgentSecretsError(e) && e.code.startsWith('AUDIT_')) throw e;
      // The lock failed: another process held it past the timeout (FILE_BUSY), or the lock file could not be
      // created. Both are the audit log's I/O failing; the lock's own code would not say which file.
      const busy = isAgentSecretsError(e) && e.code === 'FILE_BUSY';
      throw new AgentSecretsError(
        'AUDIT_IO',
        `cannot lock the audit log ${this.path}${busy ? ` (still held by another process after ${this.#lockTimeoutMs} ms)` : ioCode(e)}`,
        { hint: `if no agentsecrets process is running, delete ${lockPath}`, cause: e },
      );
    }
  }

  /**
   * Under the lock: chains the batch on from `tail`, checks the lock is still held, and appends the lines in one
   * write. Any failure is an `AUDIT_IO` of the log.
   */
  #commit(batch: readonly AuditEventInput[], tail: ChainTail, assertHeld: AssertLockHeldNow): AuditEvent[] {
    try {
      let prev = tail.prev;
      const events: AuditEvent[] = [];
      const lines: string[] = [];
      for (const fields of batch) {
        const partial = { ts: new Date().toISOString(), prev, ...fields };
        const event = { ...partial, id: eventId(partial) } as AuditEvent;
        const line = serialize(event);
        events.push(event);
        lines.push(line);
        prev = lineHash(line);
      }
      assertHeld();
      // A torn last line (a crash mid-write) keeps a line of its own: the newline in front stops the new lines from
      // being glued to it, the chain continues from its bytes, and the verifier names it.
      this.#tail = undefined;
      const after = this.#live.append(`${tail.torn ? '\n' : ''}${lines.join('\n')}\n`, tail.live);
      this.#tail = { stamp: stampOf(after), prev };
      return events;
    } catch (e) {
      throw this.#commitError(e);
    }
  }

  /** assertHeld's FILE_BUSY (the lock was taken from us) is an I/O failure of the log, like any other. */
  #commitError(e: unknown): AgentSecretsError {
    if (isAgentSecretsError(e) && e.code === 'AUDIT_IO') return e;
    return ioError(isAgentSecretsError(e) ? 'keep the lock of' : 'append to', this.path, e);
  }

  /**
   * The hash of the newest line and whether the live file ends in a torn write, rotating the live file first when it
   * is full, and the live file's stat (undefined once rotated). Runs under the lock; reads only the tail of one file.
   */
  async #chainTail(): Promise<ChainTail> {
    const now = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    const size = Number(now?.size ?? 0n);
    const full = size >= this.#maxBytes;
    // Nothing was written since this process's last append (no other writer, no rotation, no edit): it chains on.
    if (!full && now !== undefined && this.#tail?.stamp === stampOf(now))
      return { prev: this.#tail.prev, torn: false, live: now };
    if (full) await this.#rotate();
    const live = full ? undefined : now;
    const tail = live === undefined ? undefined : await readTail(this.path);
    if (tail?.last !== undefined) return { prev: lineHash(tail.last), torn: tail.torn, live };
    // An empty or missing live file (just rotated, or a crash between rename and write): the chain continues from
    // the newest rotated file, if there is one.
    const rotated = await readTail(rotatedPath(this.path, 1));
    return { prev: rotated.last === undefined ? GENESIS_HASH : lineHash(rotated.last), torn: false, live };
  }

  async #rotate(): Promise<void> {
    // Shift every rotated file up by one, from the oldest, then the live file becomes `.1`. Which ones are then
    // removed is the retention policy's call (by count, by age, and a hard cap), recorded before anything goes.
    for (const i of (await rotatedIndexes(this.path)).reverse()) {
      await rename(rotatedPath(this.path, i), rotatedPath(this.path, i + 1)).catch(() => undefined);
    }
    await rename(this.path, rotatedPath(this.path, 1));
    await applyRetention(this.path, {
      maxFiles: this.#maxFiles,
      keepMs: this.#keepMs,
      hardMaxFiles: this.#hardMaxFiles,
    });
  }
}
