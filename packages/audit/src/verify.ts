import { type FileHandle, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRegular } from '@agentsecrets/fs';
import { filesOldestFirst, LineSplitter, lineHash, MAX_LINE } from './internal/files.js';
import { ioError } from './internal/io-errors.js';
import { readRetention } from './internal/retention.js';
import { eventId, GENESIS_HASH, serialize } from './log.js';
import { type AuditEvent, AuditEventSchema, offendingField } from './schema.js';

/** Where and why the chain breaks. */
export interface VerifyFailure {
  /** The file holding the line: the live file or a rotated one (`audit.jsonl.2`). */
  readonly file: string;
  /** 1-based line number within that file. */
  readonly line: number;
  /** What is wrong, in words. Never quotes the line. */
  readonly reason: string;
}

/** What the verifier can no longer vouch for: events older than the oldest line kept. */
export interface Unverifiable {
  /** `ts` of the oldest line checked: events before it were removed and cannot be checked. */
  readonly before: string;
  /** True when retention recorded the removal (`audit.jsonl.retention`); false when the anchor is taken on trust. */
  readonly recorded: boolean;
  /** Files retention removed, as recorded (the last 50 removals). */
  readonly removedFiles?: number;
  /** When the newest of them was removed. */
  readonly lastRemovedAt?: string;
  /** True when some were removed by the hard cap before their time was up: the log was flooded. */
  readonly capped?: boolean;
}

/** The outcome of {@link verifyAuditLog}. */
export interface VerifyResult {
  /** True when no line shows an edit, a deletion, an insertion or a reordering (torn writes aside). */
  readonly ok: boolean;
  /** Lines checked, across all files. */
  readonly lines: number;
  /** The first problem: the first line that is not what the writer wrote. */
  readonly firstBad?: VerifyFailure;
  /** Every problem, in file order (at most 100): checking goes on past each one. Present when not ok. */
  readonly problems?: readonly VerifyFailure[];
  /**
   * Torn writes: lines left incomplete by a crash mid-append. Their events are lost, but nothing was altered — the
   * writer continued the chain from their bytes (or they are the last bytes of the log). Present when there are any.
   */
  readonly torn?: readonly VerifyFailure[];
  /**
   * Present (true) when the oldest kept file does not start at the genesis hash because older files were removed;
   * see {@link unverifiable}.
   */
  readonly anchored?: true;
  /** What cannot be checked any more, when older files were removed. */
  readonly unverifiable?: Unverifiable;
}

/** Problems and torn writes listed at most. */
const MAX_LISTED = 100;

const REASON = {
  json: 'not valid JSON: the line was edited or a write was torn',
  canonical: 'not byte for byte what the writer writes: the line was edited',
  id: 'its content does not match its id: the line was edited',
  genesis:
    'the first line does not start the chain at the genesis hash: lines or files before it were removed',
  unrecorded:
    'the oldest kept line does not continue from the last line retention removed: older files were deleted by something else',
  reordered:
    'out of place: it does not follow the line before it, but the next line does; lines were reordered or this one was inserted',
  gap: 'it does not follow the line before it: a line is missing just before it, or the line before it was edited and its id recomputed',
  overlong: `more than ${MAX_LINE} bytes with no newline: not written by the audit log`,
  torn: 'the last line is incomplete: a write was torn or the file was truncated',
  tornMid: 'an incomplete line (a write torn by a crash): its event is lost; the chain continues past it',
} as const;

type Checked = { readonly event: AuditEvent } | { readonly reason: string };

/** One line on its own: JSON, schema, the writer's exact bytes, an id matching the content. */
function check(bytes: Buffer): Checked {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { reason: REASON.json };
  }
  const result = AuditEventSchema.safeParse(parsed);
  if (!result.success) {
    const { unknown, field } = offendingField(result.error);
    return {
      reason: `not a valid audit event (${unknown ? `unknown field ${field}` : `field ${field}`}): the line was edited`,
    };
  }
  if (!Buffer.from(serialize(result.data), 'utf8').equals(bytes)) return { reason: REASON.canonical };
  if (eventId(result.data) !== result.data.id) return { reason: REASON.id };
  return { event: result.data };
}

/** A line whose `prev` does not match, judged once the next line is seen. */
interface Suspect {
  readonly file: string;
  readonly line: number;
  /** The hash of the line before the suspect one. */
  readonly hashBefore: string;
  /** The hash of the suspect line itself. */
  readonly hash: string;
}

function gapAt(suspect: Suspect): VerifyFailure {
  return { file: suspect.file, line: suspect.line, reason: REASON.gap };
}

interface Snapshot {
  readonly file: string;
  readonly handle: FileHandle;
  /** Bytes to check: the size when the walk began. */
  readonly size: number;
}

/**
 * Opens every file of the log at once, oldest first, and checks that no rotation moved them meanwhile (each path
 * still names the inode opened), so a verification running beside busy writers walks one consistent set of files.
 * Rotated files never change again; the live file is checked up to its size at this moment.
 */
async function snapshot(path: string): Promise<Snapshot[]> {
  for (let attempt = 0; ; attempt += 1) {
    const files = await filesOldestFirst(path);
    const opened: (Snapshot & { readonly ino: number })[] = [];
    let stable = true;
    try {
      for (const file of files) {
        const handle = await openRegular(file).catch((e: unknown) => {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw ioError('read', file, e);
        });
        if (handle === undefined) {
          if (file !== path) stable = false; // a rotated file moved between listing and opening
          continue;
        }
        const s = await handle.stat();
        opened.push({ file, handle, size: s.size, ino: s.ino });
      }
      for (const o of opened) {
        if ((await stat(o.file).catch(() => undefined))?.ino !== o.ino) stable = false;
      }
      if (stable && (await filesOldestFirst(path)).length !== files.length) stable = false;
    } catch (e) {
      for (const o of opened) await o.handle.close();
      throw e;
    }
    if (stable || attempt >= 20) return opened;
    for (const o of opened) await o.handle.close();
    await sleep(5 + Math.random() * 20);
  }
}

/**
 * Checks the whole chain: the rotated files oldest first, then the live one, streamed in chunks (memory stays
 * bounded whatever the size). Each line must be valid JSON and a valid event, byte for byte in the writer's form,
 * with an id matching its content, and with `prev` equal to the hash of the exact bytes of the line before it —
 * across file boundaries too. The first line must carry the genesis hash, unless older files were rotated away: then
 * the oldest kept line is the anchor (`anchored`). Names the first bad line (file, 1-based line number):
 *
 * - an edited line: that line (its bytes or its id no longer match its content);
 * - a deleted line: the line after the gap (its `prev` names a line that is not there);
 * - reordered or inserted lines: the first line out of place (the line after it continues from the line before it);
 * - invalid JSON or schema, a run too long to be a line, a torn last line: that line.
 *
 * An edit that also recomputes the id is seen one line later, at the line whose `prev` no longer matches, and the
 * reason says so. A chain kept beside the data cannot show the newest lines cut off (what remains still chains), nor
 * a whole chain rewritten by someone with write access.
 *
 * @example
 * ```ts
 * const { ok, firstBad } = await verifyAuditLog(`${home}/audit.jsonl`);
 * if (!ok) console.error(`broken at ${firstBad?.file}:${firstBad?.line}: ${firstBad?.reason}`);
 * ```
 */
export async function verifyAuditLog(path: string): Promise<VerifyResult> {
  let previousHash: string | undefined;
  let first = true;
  let unverifiable: Unverifiable | undefined;
  let total = 0;
  const problems: VerifyFailure[] = [];
  const torn: VerifyFailure[] = [];
  const report = (f: VerifyFailure) => {
    if (problems.length < MAX_LISTED) problems.push(f);
  };
  // A `prev` mismatch is judged with one line of lookahead: if the next line follows the line before the mismatch,
  // the mismatched line is out of place (reordered, inserted); otherwise a line is missing before it.
  let suspect: Suspect | undefined;
  // A line that failed on its own, judged with one line of lookahead too: a line that is not JSON and that the next
  // line chains to is a torn write the writer continued past; anything else is reported.
  let broken: (VerifyFailure & { readonly hash: string; readonly torn: boolean }) | undefined;

  const settleBroken = (next: { prev: string } | undefined, last: boolean) => {
    if (broken === undefined) return;
    const { hash, torn: unterminated, ...failure } = broken;
    broken = undefined;
    const json = failure.reason === REASON.json;
    if (json && (next?.prev === hash || (next === undefined && last && unterminated))) {
      if (torn.length < MAX_LISTED)
        torn.push({ ...failure, reason: next === undefined ? REASON.torn : REASON.tornMid });
    } else report(failure);
  };

  const files = await snapshot(path);
  const retention = files.length > 0 ? await readRetention(path) : undefined;
  try {
    for (const { file, handle, size } of files) {
      const splitter = new LineSplitter();
      let n = 0;

      const visit = (bytes: Buffer, unterminated = false): void => {
        n += 1;
        total += 1;
        const hash = lineHash(bytes);
        const checked = check(bytes);
        if ('reason' in checked) {
          if (suspect !== undefined) report(gapAt(suspect));
          suspect = undefined;
          settleBroken(undefined, false);
          broken = { file, line: n, reason: checked.reason, hash, torn: unterminated };
          first = false;
          previousHash = hash;
          return;
        }
        const { event } = checked;
        if (broken !== undefined) {
          // The line after a broken one: its `prev` cannot be judged against bytes that were not the writer's.
          settleBroken(event, false);
        } else if (suspect !== undefined) {
          const s = suspect;
          suspect = undefined;
          if (event.prev === s.hashBefore) report({ file: s.file, line: s.line, reason: REASON.reordered });
          else {
            report(gapAt(s));
            if (event.prev !== s.hash) suspect = { file, line: n, hashBefore: s.hash, hash };
          }
        } else if (first) {
          if (event.prev !== GENESIS_HASH) {
            const entry = retention?.find((r) => r.lastHash === event.prev);
            if (entry !== undefined) {
              unverifiable = {
                before: event.ts,
                recorded: true,
                removedFiles: retention?.length ?? 0,
                lastRemovedAt: retention?.at(-1)?.removedAt ?? entry.removedAt,
                capped: retention?.some((r) => r.why === 'cap') ?? false,
              };
            } else if (retention !== undefined && retention.length > 0) {
              report({ file, line: n, reason: REASON.unrecorded });
            } else if (file !== path) {
              unverifiable = { before: event.ts, recorded: false };
            } else {
              report({ file, line: n, reason: REASON.genesis });
            }
          }
        } else if (previousHash !== undefined && event.prev !== previousHash) {
          suspect = { file, line: n, hashBefore: previousHash, hash };
        }
        first = false;
        previousHash = hash;
      };

      const chunk = Buffer.alloc(256 * 1024);
      let position = 0;
      while (position < size) {
        const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, size - position), position);
        if (bytesRead === 0) break;
        position += bytesRead;
        for (const line of splitter.push(Buffer.from(chunk.subarray(0, bytesRead)))) visit(line);
        if (splitter.overlong) {
          // Not the log's bytes: reported, skipped to the next newline, and the chain picked up after them.
          n += 1;
          total += 1;
          if (suspect !== undefined) report(gapAt(suspect));
          suspect = undefined;
          settleBroken(undefined, false);
          report({ file, line: n, reason: REASON.overlong });
          broken = undefined;
          splitter.skipLine();
          previousHash = undefined;
          first = false;
        }
      }
      if (splitter.rest.length > 0 && !splitter.skipping) {
        // The live file may be growing: bytes after its last newline are a write still in progress when the file
        // is longer now than when the walk began. Anything else without a newline was torn.
        if (file === path && (await handle.stat()).size > size) break;
        visit(splitter.rest, true);
      }
    }
  } finally {
    for (const { handle } of files) await handle.close();
  }
  if (suspect !== undefined) report(gapAt(suspect));
  settleBroken(undefined, true);
  return {
    ok: problems.length === 0,
    lines: total,
    ...(problems.length === 0 ? {} : { firstBad: problems[0] as VerifyFailure, problems }),
    ...(torn.length === 0 ? {} : { torn }),
    ...(unverifiable === undefined ? {} : { anchored: true as const, unverifiable }),
  };
}
