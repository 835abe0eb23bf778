import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './diff.js';

const lines = (n: number, prefix = 'line') => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);

describe('unifiedDiff', () => {
  it('is empty when nothing changes', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'f')).toBe('');
  });

  it('shows a new file against /dev/null', () => {
    expect(unifiedDiff(undefined, '{\n  "a": 1\n}\n', '/h/.cursor/mcp.json')).toBe(
      ['--- /dev/null', '+++ /h/.cursor/mcp.json', '@@ -0,0 +1,3 @@', '+{', '+  "a": 1', '+}'].join('\n'),
    );
  });

  it('shows one change with three lines of context', () => {
    const before = `${lines(10).join('\n')}\n`;
    const after = before.replace('line 5\n', 'line 5\nnew\n').replace('line 6', 'LINE 6');
    expect(unifiedDiff(before, after, 'f')).toBe(
      [
        '--- f',
        '+++ f',
        '@@ -3,7 +3,8 @@',
        ' line 3',
        ' line 4',
        ' line 5',
        '-line 6',
        '+new',
        '+LINE 6',
        ' line 7',
        ' line 8',
        ' line 9',
      ].join('\n'),
    );
  });

  it('splits changes far apart into hunks, and ignores CRLF in the display', () => {
    const before = lines(40);
    const after = [...before];
    after[2] = 'changed 3';
    after[35] = 'changed 36';
    const diff = unifiedDiff(before.join('\r\n'), after.join('\r\n'), 'f');
    expect(diff.split('\n').filter((l) => l.startsWith('@@'))).toEqual([
      '@@ -1,6 +1,6 @@',
      '@@ -33,7 +33,7 @@',
    ]);
    expect(diff).not.toContain('\r');
  });

  it('stays small on a long file with a small change', () => {
    const before = `${lines(50_000).join('\n')}\n`;
    const after = before.replace('line 25000\n', 'line 25000\n  "agentsecrets": {}\n');
    const diff = unifiedDiff(before, after, 'f');
    expect(diff.split('\n')).toHaveLength(2 + 1 + 7);
  });

  it('produces patches GNU patch applies exactly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-diff-'));
    try {
      const text = fc.array(fc.constantFrom('a', 'b', 'c', '{', '}', ''), { maxLength: 30 });
      fc.assert(
        fc.property(text, text, (a, b) => {
          const before = a.map((l) => `${l}\n`).join('');
          const after = b.map((l) => `${l}\n`).join('');
          const diff = unifiedDiff(before, after, 'f');
          writeFileSync(join(dir, 'f'), before);
          if (diff !== '') {
            execFileSync('patch', ['--quiet', '--force', join(dir, 'f')], { input: `${diff}\n`, cwd: dir });
          }
          expect(readFileSync(join(dir, 'f'), 'utf8')).toBe(after);
        }),
        { numRuns: 150 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
