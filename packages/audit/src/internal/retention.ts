import { stat, unlink } from 'node:fs/promises';
import { openRegular, readRegularFile, writeFileAtomic } from '@agentsecrets/fs';
import { z } from 'zod';
import { lineHash, readTail, rotatedIndexes, rotatedPath } from './files.js';

/** One rotated file that retention removed, as the retention record remembers it. */
export interface RemovedFile {
  /** When it was removed. */
  readonly removedAt: string;
  /** `count`: past the files kept by count and older than the age kept; `cap`: past the hard cap, however young. */
  readonly why: 'count' | 'cap';
  /** `ts` of its first and last events (null when unreadable). */
  readonly firstTs: string | null;
  readonly lastTs: string | null;
  /** sha256 of its last line: the `prev` of the first line after it, which lets the verifier continue from there. */
  readonly lastHash: string;
  readonly bytes: number;
}

const RemovedFileSchema = z.object({
  removedAt: z.string(),
  why: z.enum(['count', 'cap']),
  firstTs: z.string().nullable(),
  lastTs: z.string().nullable(),
  lastHash: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(0),
});

const RecordSchema = z.object({ version: z.literal(1), removed: z.array(RemovedFileSchema) });

/** Removals remembered; the verifier needs only the newest, a few more cover a crash mid-removal. */
const KEEP_ENTRIES = 50;

/** `audit.jsonl.retention`: what retention removed, so the verifier can tell it from a deletion by someone else. */
export function retentionPath(path: string): string {
  return `${path}.retention`;
}

/** The retention record beside the log, or undefined when there is none (or it is unreadable). */
export async function readRetention(path: string): Promise<readonly RemovedFile[] | undefined> {
  try {
    const parsed = RecordSchema.safeParse(JSON.parse(await readRegularFile(retentionPath(path))));
    return parsed.success ? parsed.data.removed : undefined;
  } catch {
    return undefined;
  }
}

async function firstTs(file: string): Promise<string | null> {
  const handle = await openRegular(file);
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return /^\{"ts":"([^"]{1,40})"/.exec(buf.subarray(0, bytesRead).toString('utf8'))?.[1] ?? null;
  } finally {
    await handle.close();
  }
}

/** What the policy keeps; see `AuditLogOptions`. */
export interface RetentionPolicy {
  readonly maxFiles: number;
  readonly keepMs: number;
  readonly hardMaxFiles: number;
}

/**
 * Removes the oldest rotated files that the policy no longer keeps — past `maxFiles` and older than `keepMs`, or past
 * `hardMaxFiles` whatever their age — oldest first and never leaving a gap, after recording each in the retention
 * record. Runs under the log's lock, right after a rotation.
 */
export async function applyRetention(path: string, policy: RetentionPolicy): Promise<void> {
  const indexes = await rotatedIndexes(path);
  const doomed: { file: string; why: RemovedFile['why'] }[] = [];
  for (const index of [...indexes].reverse()) {
    const file = rotatedPath(path, index);
    if (index > policy.hardMaxFiles) {
      doomed.push({ file, why: 'cap' });
      continue;
    }
    if (index <= policy.maxFiles) break;
    const mtime = await stat(file).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
    if (mtime === undefined || Date.now() - mtime < policy.keepMs) break;
    doomed.push({ file, why: 'count' });
  }
  if (doomed.length === 0) return;
  const entries: RemovedFile[] = [];
  for (const { file, why } of doomed) {
    const tail = await readTail(file);
    if (tail.last === undefined) continue;
    let lastTs: string | null = null;
    try {
      lastTs = (JSON.parse(tail.last.toString('utf8')) as { ts?: unknown }).ts as string;
      if (typeof lastTs !== 'string') lastTs = null;
    } catch {
      lastTs = null;
    }
    entries.push({
      removedAt: new Date().toISOString(),
      why,
      firstTs: await firstTs(file).catch(() => null),
      lastTs,
      lastHash: lineHash(tail.last),
      bytes: (await stat(file)).size,
    });
  }
  const previous = (await readRetention(path)) ?? [];
  const removed = [...previous, ...entries].slice(-KEEP_ENTRIES);
  await writeFileAtomic(retentionPath(path), `${JSON.stringify({ version: 1, removed })}\n`);
  for (const { file } of doomed) await unlink(file).catch(() => undefined);
}
