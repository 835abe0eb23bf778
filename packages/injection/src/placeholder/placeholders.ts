import { randomInt } from 'node:crypto';

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/**
 * Public type prefixes of well-known credential formats and the total length of that format's keys. A placeholder for
 * a value with one of these prefixes keeps the prefix (and nothing else of the value) and that length, so SDKs that
 * check a key's shape accept it. Longest prefix first.
 */
const PREFIXES: readonly (readonly [string, number])[] = (
  [
    ['github_pat_', 93],
    ['sk-proj-', 164],
    ['sk-ant-api03-', 108],
    ['sk_live_', 107],
    ['sk_test_', 107],
    ['rk_live_', 107],
    ['rk_test_', 107],
    ['xoxb-', 57],
    ['xoxp-', 76],
    ['ghp_', 40],
    ['gho_', 40],
    ['ghs_', 40],
    ['ghu_', 40],
    ['glpat-', 26],
    ['sk-', 51],
  ] as const
)
  .slice()
  .sort((a, b) => b[0].length - a[0].length);
const DEFAULT_LENGTH = 48;
const TAG_LENGTH = 10;
/** Random characters per placeholder beside the run tag: ≥ 95 bits. */
const MIN_RANDOM = 16;

/** The placeholders of one run: every one carries the run's tag, so finding them all is one search for the tag. */
export interface PlaceholderSet {
  readonly tag: string;
  /** Secret name → placeholder. */
  readonly byName: ReadonlyMap<string, string>;
  /** Placeholder → secret name. */
  readonly byPlaceholder: ReadonlyMap<string, string>;
}

/** One placeholder found in a text. */
export interface PlaceholderHit {
  readonly start: number;
  readonly end: number;
  readonly name: string;
  readonly placeholder: string;
}

function random62(n: number): string {
  let s = '';
  for (let i = 0; i < n; i += 1) s += B62[randomInt(62)];
  return s;
}

/**
 * Makes the placeholders of one run: `<public prefix or ''><run tag, 10 base62><random base62>`, with a fixed total
 * length per prefix family (48 without one) — never the value's own length, never derived from the value. `publicHead`
 * is the start of the value (16 characters are enough), compared only against the public prefix list.
 */
export function makePlaceholders(secrets: readonly { name: string; publicHead: string }[]): PlaceholderSet {
  const tag = random62(TAG_LENGTH);
  const byName = new Map<string, string>();
  const byPlaceholder = new Map<string, string>();
  for (const s of secrets) {
    const known = PREFIXES.find(([p]) => s.publicHead.startsWith(p));
    const prefix = known?.[0] ?? '';
    const total = Math.max(known?.[1] ?? DEFAULT_LENGTH, prefix.length + TAG_LENGTH + MIN_RANDOM);
    let p: string;
    do p = prefix + tag + random62(total - prefix.length - TAG_LENGTH);
    while (byPlaceholder.has(p));
    byName.set(s.name, p);
    byPlaceholder.set(p, s.name);
  }
  return { tag, byName, byPlaceholder };
}

/** The prefix length and total length of each placeholder shape in the set. */
function shapesOf(set: PlaceholderSet): [number, number][] {
  const shapes = new Map<string, [number, number]>();
  for (const p of set.byPlaceholder.keys()) {
    const at = p.indexOf(set.tag);
    shapes.set(`${at}:${p.length}`, [at, p.length]);
  }
  return [...shapes.values()];
}

/**
 * Every placeholder of the set in `text`, in order. One `indexOf` pass for the run tag, then a map lookup per hit.
 */
export function findPlaceholders(set: PlaceholderSet, text: string): PlaceholderHit[] {
  const out: PlaceholderHit[] = [];
  if (set.byPlaceholder.size === 0) return out;
  const shapes = shapesOf(set);
  let from = 0;
  for (;;) {
    const at = text.indexOf(set.tag, from);
    if (at < 0) return out;
    let matched = false;
    for (const [prefixLength, total] of shapes) {
      const start = at - prefixLength;
      if (start < 0 || start + total > text.length) continue;
      const candidate = text.slice(start, start + total);
      const name = set.byPlaceholder.get(candidate);
      if (name !== undefined) {
        out.push({ start, end: start + total, name, placeholder: candidate });
        from = start + total;
        matched = true;
        break;
      }
    }
    // A run tag that is not part of a whole placeholder (a cut one) is nobody's: it goes out as it is.
    if (!matched) from = at + set.tag.length;
  }
}
