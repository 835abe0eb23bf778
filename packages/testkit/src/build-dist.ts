import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * For a vitest global setup: process-level tests run child processes that import a package's built `dist/`, as a
 * user's program would, so rebuild it first when its `src/` is newer.
 */
export function rebuildIfStale(packageRoot: URL | string): void {
  const root = typeof packageRoot === 'string' ? packageRoot : fileURLToPath(packageRoot);
  let built = 0;
  try {
    built = statSync(join(root, 'dist', 'index.js')).mtimeMs;
  } catch {
    // not built yet
  }
  if (built >= newestSource(join(root, 'src'))) return;
  execFileSync('npx', ['--no-install', 'tsup'], { cwd: root, stdio: 'inherit' });
}
