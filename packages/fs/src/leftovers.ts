import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessAlive } from './process.js';

/** Temporary files this process is writing right now (full paths): never removed as leftovers. */
export const inFlight = new Set<string>();

/**
 * Removes files in `dir` left by writers that died: names matching `pattern`, whose first capture group is the pid
 * of the process that made them, when that process is gone (or is this one, which is not writing them — a pid
 * reused after a crash, as in containers where every run is pid 1). Best effort: errors are ignored.
 */
export async function removeLeftovers(dir: string, pattern: RegExp): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const path = join(dir, name);
    if (pid === process.pid ? inFlight.has(path) : isProcessAlive(pid)) continue;
    try {
      await unlink(path);
      removed += 1;
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/** `\.` and friends for a literal file name inside a RegExp. */
export function escapeName(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
