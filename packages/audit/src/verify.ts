import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { lineHash, rotatedPath } from './internal/files.js';
import { eventId, GENESIS_HASH } from './log.js';
import { AuditEventSchema } from './schema.js';

/** The outcome of {@link verifyAuditLog}. */
export interface VerifyResult {
  readonly ok: boolean;
  /** Lines checked. */
  readonly lines: number;
  /** The first line where the chain breaks: file, 1-based line number, and what was found. */
  readonly firstBad?: { readonly file: string; readonly line: number; readonly reason: string };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Walks the rotated files oldest first, then the live one, line by line, and checks every line: valid JSON and
 * schema, an id that matches its own content (an edited line fails here), and a `prev` equal to the hash of the line
 * before it (a deleted or reordered line fails at the line after the gap). The very first line must carry the
 * genesis hash, unless older files were rotated away, in which case the oldest kept line is taken as the anchor.
 * A hash chain kept beside the data cannot detect the last lines being cut off or the whole chain being rewritten.
 */
export async function verifyAuditLog(path: string): Promise<VerifyResult> {
  const files: string[] = [];
  for (let i = 64; i >= 1; i -= 1) if (await exists(rotatedPath(path, i))) files.push(rotatedPath(path, i));
  if (await exists(path)) files.push(path);
  const anchored = files.length > 0 && files[0] !== path;
  let previous: string | undefined;
  let total = 0;
  for (const file of files) {
    let n = 0;
    const stream = createReadStream(file, { encoding: 'utf8' });
    const bad = (reason: string): VerifyResult => {
      stream.destroy();
      return { ok: false, lines: total, firstBad: { file, line: n, reason } };
    };
    let endsWithNewline = true;
    stream.on('data', (chunk: string | Buffer) => {
      if (chunk.length > 0) endsWithNewline = String(chunk).endsWith('\n');
    });
    for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
      n += 1;
      total += 1;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return bad('not valid JSON (edited or truncated)');
      }
      const result = AuditEventSchema.safeParse(parsed);
      if (!result.success) return bad('not a valid audit event (edited)');
      const event = result.data;
      if (eventId(parsed as Record<string, unknown>) !== event.id)
        return bad('its content does not match its id (edited)');
      const expected = previous === undefined ? (anchored ? event.prev : GENESIS_HASH) : lineHash(previous);
      if (event.prev !== expected) {
        return bad(
          previous === undefined
            ? 'the first line does not start the chain (lines before it were removed)'
            : 'its prev does not match the line before it (a line was removed, inserted or reordered here, or the previous line was edited)',
        );
      }
      previous = line;
    }
    if (n > 0 && !endsWithNewline)
      return {
        ok: false,
        lines: total,
        firstBad: { file, line: n, reason: 'the last line is incomplete (truncated write)' },
      };
  }
  return { ok: true, lines: total };
}
