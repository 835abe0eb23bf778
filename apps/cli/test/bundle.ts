import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const IMPORT =
  /(?:^|\n)\s*import\s*(?:[^'"()]*?\s*from\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** What one file of the built CLI holds: the packages it imports by name, and those bundled into it. */
export interface BundleFile {
  /** Bare specifiers it imports, statically or by import() (its relative imports and `node:` ones left out). */
  readonly imported: string[];
  /**
   * Packages whose source the bundler put into it, read from its source map: a third-party package by its npm name
   * (`zod`), a workspace one by its package name (`@agentsecrets/core`).
   */
  readonly bundled: string[];
}

function packageOfSource(source: string): string | undefined {
  const npm = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source);
  if (npm) return npm[1];
  const workspace = /(?:^|\/)(?:packages|apps)\/([^/]+)\/src\//.exec(source);
  if (workspace) return workspace[1] === 'cli' ? 'agentsecrets' : `@agentsecrets/${workspace[1]}`;
  return undefined;
}

/** Reads `name` in the CLI's `dist` directory and its source map. */
export async function bundleFile(dist: string, name: string): Promise<BundleFile> {
  const text = await readFile(join(dist, name), 'utf8');
  const imported = [...text.matchAll(IMPORT)]
    .map((m) => m[1] ?? m[2] ?? '')
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:'));
  const map = JSON.parse(await readFile(join(dist, `${name}.map`), 'utf8')) as { sources: string[] };
  const bundled = [...new Set(map.sources.map(packageOfSource).filter((p) => p !== undefined))];
  return { imported, bundled };
}
