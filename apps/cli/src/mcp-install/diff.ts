import { structuredPatch } from 'diff';

/**
 * A unified diff (`---`/`+++` headers, `@@` hunks, 3 lines of context) from `before` to `after`, for `--dry-run`.
 * Empty when nothing changes. `before` undefined means a new file (`--- /dev/null`).
 *
 * The hunks come from the `diff` package (Myers' algorithm, linear space on the long files an install touches a few
 * lines of, such as `~/.claude.json`); CRLF is shown as LF, and a missing final newline is not marked, since the
 * diff is for reading.
 */
export function unifiedDiff(before: string | undefined, after: string, path: string): string {
  if (before === after) return '';
  const { hunks } = structuredPatch(path, path, normalise(before ?? ''), normalise(after), '', '', {
    context: 3,
  });
  if (hunks.length === 0) return '';
  const lines = [`--- ${before === undefined ? '/dev/null' : path}`, `+++ ${path}`];
  for (const h of hunks) {
    lines.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`);
    lines.push(...h.lines.filter((l) => !l.startsWith('\\')));
  }
  return lines.join('\n');
}

function range(start: number, length: number): string {
  // An empty range names the line before it, as GNU diff writes it.
  return length === 0 ? `${Math.max(0, start - 1)},0` : `${start},${length}`;
}

/** LF line endings and a final newline, so only real changes show. */
function normalise(text: string): string {
  const lf = text.replace(/\r\n/g, '\n');
  return lf === '' || lf.endsWith('\n') ? lf : `${lf}\n`;
}
