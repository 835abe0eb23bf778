import { type FileHandle, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRegular } from '@agentsecrets/fs';
import { ioStats, LineSplitter, linesBackwards, rotatedIndexes, rotatedPath } from './internal/files.js';
import { ioError } from './internal/io-errors.js';
import { type AuditEvent, AuditEventSchema } from './schema.js';

/** Which events to show. Every given criterion must match. */
export interface AuditFilter {
  /** Events that used this key name. */
  readonly secret?: string;
  readonly status?: AuditEvent['status'];
  readonly transport?: AuditEvent['transport'];
  /** Events at or after this time. */
  readonly since?: Date;
  /** Events at or before this time. */
  readonly until?: Date;
}

/** Options of {@link followAudit}. */
export interface FollowOptions {
  readonly filter?: AuditFilter;
  /** Stops following; the iteration then ends normally. */
  readonly signal?: AbortSignal;
  /** Start after the current last line (default) or, with `false`, at the live file's first line. */
  readonly fromEnd?: boolean;
  /** How often to look for new lines. Default 100 ms. */
  readonly pollMs?: number;
}

// Lines are written in `ts` order (the timestamp is taken under the lock), but a clock stepped back by NTP can put
// an earlier time after a later one. Reading backwards for `since`, we stop only this far before it.
const CLOCK_SLACK_MS = 10 * 60 * 1000;

const FOLLOW_CHUNK = 1024 * 1024;

function parse(line: Buffer): AuditEvent | undefined {
  if (line.length === 0) return undefined;
  try {
    const parsed = AuditEventSchema.safeParse(JSON.parse(line.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function matches(e: AuditEvent, f: AuditFilter): boolean {
  if (f.secret !== undefined && !e.secret_keys.includes(f.secret)) return false;
  if (f.status !== undefined && e.status !== f.status) return false;
  if (f.transport !== undefined && e.transport !== f.transport) return false;
  const ts = Date.parse(e.ts);
  if (f.since !== undefined && ts < f.since.getTime()) return false;
  if (f.until !== undefined && ts > f.until.getTime()) return false;
  return true;
}

/**
 * The last `n` events matching `filter`, oldest first (newest last). Reads backwards in chunks from the end of the
 * live file, then of each rotated file, newest first, and stops as soon as it has `n` — or, with `since`, once it is
 * well before that time — so a 1 GB log is not read whole. Lines that do not parse are skipped (`verifyAuditLog`
 * reports them); a run of more than 1 MiB without a newline is damage, and the file is not read past it. A missing
 * log is empty.
 *
 * @example
 * ```ts
 * const blocked = await readLast(`${home}/audit.jsonl`, 20, { status: 'BLOCKED', secret: 'STRIPE_KEY' });
 * ```
 */
export async function readLast(path: string, n: number, filter: AuditFilter = {}): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  if (!(n > 0)) return out;
  const stopBefore = filter.since === undefined ? undefined : filter.since.getTime() - CLOCK_SLACK_MS;
  const files = [path, ...(await rotatedIndexes(path)).map((i) => rotatedPath(path, i))];
  for (const file of files) {
    for await (const line of linesBackwards(file)) {
      const event = parse(line);
      if (event === undefined) continue;
      if (stopBefore !== undefined && Date.parse(event.ts) < stopBefore) return out.reverse();
      if (!matches(event, filter)) continue;
      out.push(event);
      if (out.length >= n) return out.reverse();
    }
  }
  return out.reverse();
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await openRegular(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read', path, e);
  }
}

/**
 * Follows the log like `tail -f`: yields each new matching event as it is appended, by any process, until the
 * signal aborts. Survives rotation: when the live file is replaced, the rest of the old one (found again by inode
 * among the rotated files, however many rotations happened meanwhile) is read before the new one. Reads in bounded
 * chunks and yields only complete lines.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * for await (const e of followAudit(`${home}/audit.jsonl`, { signal: stop.signal, filter: { status: 'BLOCKED' } })) {
 *   console.log(e.ts, e.target, e.reason);
 * }
 * ```
 */
export async function* followAudit(path: string, options: FollowOptions = {}): AsyncGenerator<AuditEvent> {
  const filter = options.filter ?? {};
  const pollMs = options.pollMs ?? 100;
  const signal = options.signal;
  const splitter = new LineSplitter();
  let ino: number | undefined;
  let offset = 0;

  // Reads `handle` from `from` to its current end, yielding complete matching lines; returns the new offset.
  async function* drain(handle: FileHandle, from: number): AsyncGenerator<AuditEvent, number> {
    let position = from;
    const chunk = Buffer.alloc(FOLLOW_CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) return position;
      ioStats.bytesRead += bytesRead;
      position += bytesRead;
      const lines = splitter.push(Buffer.from(chunk.subarray(0, bytesRead)));
      if (splitter.overlong) splitter.reset(); // not the log's bytes: skip them
      for (const line of lines) {
        const event = parse(line);
        if (event !== undefined && matches(event, filter)) yield event;
      }
    }
  }

  // Inodes of the rotated files that hold only lines older than the live file's.
  let older = new Set<number>();
  for (const index of await rotatedIndexes(path)) {
    const s = await stat(rotatedPath(path, index)).catch(() => undefined);
    if (s !== undefined) older.add(s.ino);
  }
  const first = await openIfExists(path);
  if (first !== undefined) {
    const s = await first.stat();
    await first.close();
    ino = s.ino;
    offset = options.fromEnd === false ? 0 : s.size;
  }

  // A function, not a property read: TypeScript would keep the loop condition's narrowing across the awaits.
  const stopped = (): boolean => signal?.aborted === true;
  while (!stopped()) {
    const live = await openIfExists(path);
    if (live !== undefined) {
      try {
        const s = await live.stat();
        if (ino !== undefined && s.ino !== ino) {
          // Replaced since the last look: finish the old file, then any files rotated after it, oldest first.
          const rotated: { index: number; handle: FileHandle; ino: number }[] = [];
          try {
            for (const index of await rotatedIndexes(path)) {
              const h = await openIfExists(rotatedPath(path, index));
              if (h !== undefined) rotated.push({ index, handle: h, ino: (await h.stat()).ino });
            }
            const oldIndex = rotated.find((r) => r.ino === ino)?.index;
            // Found: it and the files rotated after it (lower indexes). Not found: it was rotated away altogether
            // (then the files that were not there before are all newer), or moved aside by hand (then none are).
            // A rotation running while this looks can show one file under two names: each is read once, and the file
            // opened as live is read as live below, also when it has been rotated since it was opened.
            const once = new Set([s.ino]);
            const backlog = rotated
              .filter((r) => (oldIndex === undefined ? !older.has(r.ino) : r.index <= oldIndex))
              .filter((r) => !once.has(r.ino) && once.add(r.ino) !== undefined)
              .reverse();
            for (const r of backlog) {
              splitter.reset();
              yield* drain(r.handle, r.index === oldIndex ? offset : 0);
            }
          } finally {
            for (const r of rotated) await r.handle.close();
          }
          older = new Set(rotated.map((r) => r.ino));
          splitter.reset();
          offset = 0;
        }
        if (s.size < offset) {
          // Truncated in place: start again from its beginning.
          splitter.reset();
          offset = 0;
        }
        ino = s.ino;
        offset = yield* drain(live, offset);
      } finally {
        await live.close();
      }
    }
    if (stopped()) break;
    await sleep(pollMs, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
  }
}
