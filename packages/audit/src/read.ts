import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { linesBackwards, rotatedPath } from './internal/files.js';
import { type AuditEvent, AuditEventSchema } from './schema.js';

/** Which events to show. */
export interface AuditFilter {
  readonly secret?: string;
  readonly status?: AuditEvent['status'];
  readonly transport?: AuditEvent['transport'];
  readonly since?: Date;
  readonly until?: Date;
}

function parse(line: string): AuditEvent | undefined {
  try {
    const parsed = AuditEventSchema.safeParse(JSON.parse(line));
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
 * The last `n` events matching `filter`, oldest first. Reads backwards from the end of the live file, then of the
 * rotated ones, and stops as soon as it has enough: a 1 GB log is not read whole. Lines that do not parse are
 * skipped (`verifyAuditLog` reports them). A missing log is empty.
 */
export async function readLast(path: string, n: number, filter: AuditFilter = {}): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  if (n <= 0) return out;
  for (let i = 0; i <= 64; i += 1) {
    const file = i === 0 ? path : rotatedPath(path, i);
    if (
      i > 0 &&
      !(await stat(file).then(
        () => true,
        () => false,
      ))
    )
      break;
    for await (const line of linesBackwards(file)) {
      const event = parse(line);
      if (event === undefined || !matches(event, filter)) continue;
      out.push(event);
      if (out.length >= n) return out.reverse();
    }
  }
  return out.reverse();
}

/**
 * Follows the log like `tail -f`: yields each new matching event as it is appended, across rotations, until the
 * signal aborts. With `fromEnd` (the default) it starts after the current last line.
 */
export async function* followAudit(
  path: string,
  options: { filter?: AuditFilter; signal?: AbortSignal; fromEnd?: boolean; pollMs?: number } = {},
): AsyncGenerator<AuditEvent> {
  const filter = options.filter ?? {};
  const pollMs = options.pollMs ?? 100;
  let ino: number | undefined;
  let offset = 0;
  let partial = '';
  const current = await stat(path).catch(() => undefined);
  if (current !== undefined) {
    ino = current.ino;
    offset = options.fromEnd === false ? 0 : current.size;
  }
  const readFrom = async (file: string, from: number): Promise<{ text: string; size: number }> => {
    const handle = await open(file, 'r').catch(() => undefined);
    if (handle === undefined) return { text: '', size: from };
    try {
      const { size } = await handle.stat();
      if (size <= from) return { text: '', size };
      const buf = Buffer.alloc(size - from);
      await handle.read(buf, 0, buf.length, from);
      return { text: buf.toString('utf8'), size };
    } finally {
      await handle.close();
    }
  };
  while (!options.signal?.aborted) {
    const s = await stat(path).catch(() => undefined);
    let text = '';
    if (s !== undefined && ino !== undefined && s.ino !== ino) {
      // Rotated: finish the old file (now `.1`), then start the new one from its beginning.
      text += (await readFrom(rotatedPath(path, 1), offset)).text;
      offset = 0;
    }
    if (s !== undefined) {
      ino = s.ino;
      if (s.size < offset) offset = 0;
      const chunk = await readFrom(path, offset);
      text += chunk.text;
      offset = chunk.size;
    }
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const event = line.trim() === '' ? undefined : parse(line);
      if (event !== undefined && matches(event, filter)) yield event;
    }
    await sleep(pollMs, undefined, options.signal === undefined ? {} : { signal: options.signal }).catch(
      () => undefined,
    );
  }
}
