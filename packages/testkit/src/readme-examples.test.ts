// Every README example of a package or app runs: each ```ts block is written next to the package's own source
// (its `@agentsecrets/<self>` import pointed at src/index.ts, the others resolved as the package resolves them) and
// imported. A block fenced ```ts fragment is a piece of a larger program and is only shown, not run.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

interface Example {
  readonly dir: string;
  readonly name: string;
  readonly code: string;
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const group of ['packages', 'apps']) {
    for (const pkg of readdirSync(join(root, group))) {
      const dir = join(root, group, pkg);
      let readme: string;
      let name: string;
      try {
        readme = readFileSync(join(dir, 'README.md'), 'utf8');
        name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
      } catch {
        continue;
      }
      for (const m of readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) out.push({ dir, name, code: m[1]! });
    }
  }
  return out;
}

let home: string;
const saved = process.env.AGENTSECRETS_HOME;

beforeAll(async () => {
  // An example that opens an AgentSecrets home gets a fresh one.
  home = await mkdtemp(join(tmpdir(), 'as-readme-'));
  process.env.AGENTSECRETS_HOME = home;
});

afterAll(async () => {
  if (saved === undefined) delete process.env.AGENTSECRETS_HOME;
  else process.env.AGENTSECRETS_HOME = saved;
  await rm(home, { recursive: true, force: true });
});

describe('README examples', () => {
  const all = examples();

  it('every package with a public surface shows one that runs', () => {
    const shown = new Set(all.map((e) => e.name));
    for (const pkg of [
      '@agentsecrets/errors',
      '@agentsecrets/fs',
      '@agentsecrets/names',
      '@agentsecrets/crypto',
      '@agentsecrets/audit',
    ])
      expect(shown, pkg).toContain(pkg);
  });

  for (const [i, example] of all.entries()) {
    it(`${example.name} #${i + 1} runs`, async () => {
      const file = join(example.dir, 'src', `.readme-example-${i}.ts`);
      const self = new RegExp(`(['"])${example.name.replace('/', '\\/')}\\1`, 'g');
      await writeFile(file, example.code.replace(self, "'./index.js'"));
      try {
        await import(/* @vite-ignore */ file);
      } finally {
        await unlink(file);
      }
    }, 60_000);
  }
});
