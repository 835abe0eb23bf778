#!/usr/bin/env node
// Checks of the source tree's shape that no compiler makes (docs/architecture.md). Prints one line per problem
// and exits 1 if there is any:
// - the proxy protocol's `X-AS-*` names are spelled only in its module (apps/proxy/src/protocol.ts);
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');

/** Every non-test TypeScript source file of the packages and apps. */
export function sourceFiles() {
  const out = [];
  for (const group of ['packages', 'apps']) {
    for (const pkg of readdirSync(join(root, group))) {
      const walk = (dir) => {
        let entries;
        try {
          entries = readdirSync(dir, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of entries) {
          const path = join(dir, e.name);
          if (e.isDirectory()) walk(path);
          else if (/\.(ts|mts)$/.test(e.name) && !/\.test\.ts$/.test(e.name) && !e.name.endsWith('.d.ts'))
            out.push(relative(root, path));
        }
      };
      walk(join(root, group, pkg, 'src'));
    }
  }
  return out.sort();
}

const PROTOCOL_MODULE = 'apps/proxy/src/protocol.ts';
// Help texts show the wire format to people; they are documentation, like SPEC.md, not a second definition.
const PROTOCOL_NAMES_SHOWN = new Set(['apps/cli/src/commands/proxy.ts']);

export function protocolProblems(files) {
  const problems = [];
  for (const file of files) {
    if (file === PROTOCOL_MODULE) continue;
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!/x-as-/i.test(line)) return;
      if (PROTOCOL_NAMES_SHOWN.has(file) && /\.(description|addHelpText)\(|^\s*['"`]?\s*(curl|-H)/.test(line))
        return;
      problems.push(`${file}:${i + 1}: an X-AS- name outside ${PROTOCOL_MODULE}; import it from there`);
    });
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = sourceFiles();
  const problems = [...protocolProblems(files)];
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log(`check-source: ${files.length} files, no problems`);
}
