import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const MAX_LINE = 1024 * 1024;

/** Bytes read by the tail readers, for the test that proves a large log is not read whole. */
export const ioStats = { bytesRead: 0 };

/** The hash chaining a line to the next one: sha256 of its exact bytes, newline excluded. */
export function lineHash(line: string): string {
  return createHash('sha256').update(line, 'utf8').digest('hex');
}

/** Rotated files of a log, newest first: `audit.jsonl.1`, `audit.jsonl.2`, … */
export function rotatedPath(path: string, index: number): string {
  return `${path}.${index}`;
}

/**
 * Reads a file backwards in chunks and yields its complete lines, last first. Reads only as far as the caller
 * consumes, so the last lines of a 1 GB log cost a few kilobytes.
 */
export async function* linesBackwards(path: string, chunkSize = 64 * 1024): AsyncGenerator<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    let position = (await handle.stat()).size;
    let rest = Buffer.alloc(0);
    while (position > 0) {
      const size = Math.min(chunkSize, position);
      position -= size;
      const chunk = Buffer.alloc(size);
      await handle.read(chunk, 0, size, position);
      ioStats.bytesRead += size;
      const data = Buffer.concat([chunk, rest]);
      let end = data.length;
      for (let i = data.length - 1; i >= 0; i -= 1) {
        if (data[i] !== 0x0a) continue;
        const line = data.toString('utf8', i + 1, end);
        if (line.trim() !== '') yield line;
        end = i;
      }
      rest = Buffer.from(data.subarray(0, end));
      if (rest.length > MAX_LINE) {
        // No line is this long: the bytes are not the log's (a hole, a corrupted region). Stop here; the verifier
        // reports such damage, and readers must not scan a damaged gigabyte.
        return;
      }
    }
    const first = rest.toString('utf8');
    if (first.trim() !== '') yield first;
  } finally {
    await handle.close();
  }
}

/** The last complete line of a file, or undefined when it has none. */
export async function lastLine(path: string): Promise<string | undefined> {
  for await (const line of linesBackwards(path, 8 * 1024)) return line;
  return undefined;
}
