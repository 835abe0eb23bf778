import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A README's runnable example and what it says it prints. */
export interface ReadmeExample {
  readonly code: string;
  /** The trailing `// …` comment of each `console.log(…)` line, up to an em dash: the line it prints. */
  readonly expected: string[];
}

/** The first ```js block of `dir`/README.md. */
export function readmeExample(dir: string): ReadmeExample {
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (code === undefined) throw new Error(`${dir}/README.md has no \`\`\`js example`);
  const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)].map((m) =>
    m[1]!.split(' — ')[0]!.trim(),
  );
  return { code, expected };
}

/**
 * Runs the README example of the package in `dir` with node, as a reader would after building, with the package's
 * own dependencies (and its own name) resolvable. Returns what it printed, line by line, and its exit status.
 */
export function runReadmeExample(dir: string): { lines: string[]; status: number | null; stderr: string } {
  const { code } = readmeExample(dir);
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { lines: run.stdout.split('\n').filter((l) => l !== ''), status: run.status, stderr: run.stderr };
}
