import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(join(root, 'dist', 'index.js')).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Vitest global setup. Process-level tests (several writers appending at once, a log followed while another process
 * writes) run child processes that import the built package, as a user's program would; rebuild it first when src
 * is newer.
 */
export default function setup(): void {
  if (builtAt() >= newestSource(join(root, 'src'))) return;
  execFileSync('npx', ['--no-install', 'tsup'], { cwd: root, stdio: 'inherit' });
}
