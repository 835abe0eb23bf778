#!/usr/bin/env node
// Checks of the source tree's shape that no compiler makes (docs/architecture.md), run by scripts/test.sh. Prints
// one line per problem and exits 1 if there is any:
// - no import cycle inside any package or app, not even between types (madge over each src/ tree; packages depend
//   on each other through package.json, where pnpm and turbo already refuse a cycle);
// - no file of a package or app over 400 lines unless its opening comment says why ("Over 400 lines: …");
// - the proxy protocol's `X-AS-*` names spelled only in its module (apps/proxy/src/protocol.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import madge from 'madge';

const root = join(import.meta.dirname, '..');
const MAX_LINES = 400;
// Files another branch is cutting (issue 11 cut 2: the sync server and its client); remove once it has landed.
const BEING_CUT = new Set([
  'apps/server/src/app.ts',
  'apps/server/src/server.test.ts',
  'packages/sync/src/client.ts',
]);
const PROTOCOL_MODULE = 'apps/proxy/src/protocol.ts';
// Help texts show the wire format to people; they are documentation, like SPEC.md, not a second definition.
const PROTOCOL_NAMES_SHOWN = new Set(['apps/cli/src/commands/proxy.ts']);

/** The source roots: every package's and app's src/ and test/ that exists. */
function sourceRoots() {
  const roots = [];
  for (const group of ['packages', 'apps']) {
    for (const pkg of readdirSync(join(root, group))) {
      for (const sub of ['src', 'test']) {
        try {
          readdirSync(join(root, group, pkg, sub));
          roots.push(join(group, pkg, sub));
        } catch {
          // no such directory
        }
      }
    }
  }
  return roots.sort();
}

/** Every TypeScript file under the roots (tests included, declarations not). */
function filesUnder(roots) {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'dist') walk(path);
      } else if (/\.m?ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path);
    }
  };
  for (const r of roots) walk(r);
  return out.sort();
}

export function lengthProblems(files, read = (f) => readFileSync(join(root, f), 'utf8')) {
  const problems = [];
  for (const file of files) {
    if (BEING_CUT.has(file)) continue;
    const lines = read(file).replace(/\n$/, '').split('\n');
    if (lines.length <= MAX_LINES) continue;
    const opening = [];
    for (const line of lines) {
      if (!/^\s*(\/\/|\/\*|\*)/.test(line)) break;
      opening.push(line);
    }
    if (!/Over 400 lines:/i.test(opening.join(' '))) {
      problems.push(
        `${file}: ${lines.length} lines; find the seam and split it, or say why not in its opening comment ("Over 400 lines: …")`,
      );
    }
  }
  return problems;
}

export function protocolProblems(files, read = (f) => readFileSync(join(root, f), 'utf8')) {
  const problems = [];
  for (const file of files) {
    if (file === PROTOCOL_MODULE || /\.test\.ts$/.test(file) || !file.includes('/src/')) continue;
    read(file)
      .split('\n')
      .forEach((line, i) => {
        if (!/x-as-/i.test(line)) return;
        if (
          PROTOCOL_NAMES_SHOWN.has(file) &&
          /\.(description|addHelpText)\(|^\s*['"`]?\s*(curl|-H)\b/.test(line)
        )
          return;
        problems.push(`${file}:${i + 1}: an X-AS- name outside ${PROTOCOL_MODULE}; import it from there`);
      });
  }
  return problems;
}

export async function cycleProblems(roots) {
  const problems = [];
  for (const dir of roots) {
    const graph = await madge(join(root, dir), {
      fileExtensions: ['ts', 'mts'],
      tsConfig: join(root, 'tsconfig.base.json'),
      excludeRegExp: [/\.d\.ts$/, /node_modules/, /\/dist\//],
      // A dynamic import() is a lazy-loading seam (the CLI's lib.ts loads each command's heavy part when it runs):
      // it runs after every module is loaded, so a path through one is no load-order cycle.
      detectiveOptions: { ts: { skipAsyncImports: true }, es6: { skipAsyncImports: true } },
    });
    for (const cycle of graph.circular())
      problems.push(`${dir}: import cycle ${cycle.join(' > ')} > ${cycle[0]}`);
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const roots = sourceRoots();
  const files = filesUnder(roots);
  const problems = [...protocolProblems(files), ...lengthProblems(files), ...(await cycleProblems(roots))];
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log(
    `check-source: ${files.length} files in ${roots.length} trees: no cycles, no long files, one protocol module`,
  );
}
