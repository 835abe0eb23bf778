const CONTEXT = 3;
// Above this many cells the LCS table is not worth it: show the changed middle as removed, then added.
const MAX_CELLS = 4_000_000;

type Op = { readonly kind: ' ' | '-' | '+'; readonly line: string };

/**
 * A unified diff (`---`/`+++` headers, `@@` hunks, 3 lines of context) from `before` to `after`, for `--dry-run`.
 * Empty when nothing changes. `before` undefined means a new file (`--- /dev/null`).
 *
 * Longest common subsequence over lines, after trimming the common head and tail: an install touches a few lines of
 * files that can be long (`~/.claude.json`), so the table stays small.
 */
export function unifiedDiff(before: string | undefined, after: string, path: string): string {
  if (before === after) return '';
  const a = splitLines(before ?? '');
  const b = splitLines(after);
  const ops = lineOps(a, b);
  const hunks: string[] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.kind === ' ') {
      i += 1;
      continue;
    }
    // A hunk: from CONTEXT lines before this change to CONTEXT lines after the last change that is close enough.
    let end = i;
    for (let k = i; k < ops.length; k += 1) {
      if (ops[k]!.kind !== ' ') end = k;
      else if (k - end > 2 * CONTEXT) break;
    }
    const from = Math.max(0, i - CONTEXT);
    const to = Math.min(ops.length, end + CONTEXT + 1);
    const slice = ops.slice(from, to);
    const oldStart = ops.slice(0, from).filter((o) => o.kind !== '+').length;
    const newStart = ops.slice(0, from).filter((o) => o.kind !== '-').length;
    const oldLen = slice.filter((o) => o.kind !== '+').length;
    const newLen = slice.filter((o) => o.kind !== '-').length;
    hunks.push(
      `@@ -${range(oldStart, oldLen)} +${range(newStart, newLen)} @@`,
      ...slice.map((o) => `${o.kind}${o.line}`),
    );
    i = to;
  }
  return [`--- ${before === undefined ? '/dev/null' : path}`, `+++ ${path}`, ...hunks].join('\n');
}

function range(start: number, length: number): string {
  // Unified diff counts from 1; an empty range names the line before it.
  return length === 0 ? `${start},0` : `${start + 1},${length}`;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function lineOps(a: readonly string[], b: readonly string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail += 1;
  }
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const same = (line: string): Op => ({ kind: ' ', line });
  return [...a.slice(0, head).map(same), ...middleOps(midA, midB), ...a.slice(a.length - tail).map(same)];
}

function middleOps(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    return [...a.map((line): Op => ({ kind: '-', line })), ...b.map((line): Op => ({ kind: '+', line }))];
  }
  // lcs[i][j] = LCS length of a[i..] and b[j..], one flat row-major table.
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lcs[i * width + j] =
        a[i] === b[j]
          ? lcs[(i + 1) * width + j + 1]! + 1
          : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i]! });
      i += 1;
      j += 1;
    } else if (j < m && (i >= n || lcs[i * width + j + 1]! > lcs[(i + 1) * width + j]!)) {
      ops.push({ kind: '+', line: b[j]! });
      j += 1;
    } else {
      ops.push({ kind: '-', line: a[i]! });
      i += 1;
    }
  }
  return ops;
}
