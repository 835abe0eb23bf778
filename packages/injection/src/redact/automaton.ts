import { CANON } from './forms.js';

/**
 * Multi-pattern matcher over bytes: an Aho–Corasick automaton behind a skip filter.
 *
 * Aho–Corasick. States are trie nodes, numbered level by level (root 1; 0 means "none"), with failure links and,
 * per state, its depth and the length of the longest pattern that is a suffix of it (`out`). States shallower than
 * {@link DENSE_DEPTH} — the only ones ordinary data reaches — also have a dense DFA row over byte classes (bytes in
 * no pattern share class 0). A row entry is the next state's row offset (id × stride) when that state is dense and
 * ends no pattern, so the inner loop is one load per byte; otherwise it is `~id` (negative: a match, or a deep
 * state); 0 means "not computed yet", filled in from the failure links the first time it is needed. Deeper states
 * keep sparse child lists and follow failure links without memoising. So the table is at most (patterns × 7 + 2)
 * rows however long the secrets are (≈ 0.7 MB for 20 secrets), where a full DFA would be one row per pattern byte
 * (≈ 6 MB for the same 20, tens of MB for a multi-kilobyte secret such as a service-account JSON).
 *
 * Skip filter (Wu–Manber). With m the shortest pattern length, every 4-byte block among the first m bytes of every
 * pattern is hashed into a shift table: how far a window ending on that block may move without passing the start of
 * an occurrence. The filter proposes candidate starts; the automaton runs from the root at each one until it is back
 * at the root, so it still decides every match, and at the end of a chunk exactly the current match depth is
 * unsettled. The work stays linear in the data whatever it holds.
 * Measured on this machine, one dependent table load per byte (the DFA alone) ran at ≈ 400 MB/s; with the filter,
 * 2–4 GB/s on JSON text with 20 secrets; the filter loop is bound by the latency of each step, so four
 * interleaved chains of windows, each block read with one load, run it about 2.5 times as fast as one chain.
 */

const BLOCK = 4;
const HASH_BITS = 16;
const HASH_SHIFT = 32 - HASH_BITS;
// Multiplicative hashing of a 24-bit block, top bits kept: every input bit reaches them (text is mostly 7-bit).
const HASH_MULTIPLIER = 0x9e3779b1 | 0;
/** Sets bit 5 of each byte of a block: an ASCII letter hashes the same in either case (so do a few other pairs). */
const FOLD = 0x20202020;
/** States of depth below this have a dense row. */
const DENSE_DEPTH = 8;
export const ROOT = 1;
/** The bytes of the text that read as each canonical byte, up to case. */
const SPELLINGS: readonly (readonly number[])[] = Array.from({ length: 256 }, (_, b) =>
  b === 0x2b ? [0x2b, 0x2d] : b === 0x2f ? [0x2f, 0x5f] : [b],
);
/** Window starts examined per round of the skip filter; its candidates are kept in a scratch array this long. */
const SPAN = 8192;
/** Room for one chain's candidates in the scratch array: a quarter of the span, and the remainder of a split. */
const QUARTER = SPAN / 4 + 4;

export class Automaton {
  readonly #table: Int32Array;
  readonly #classes: Uint8Array;
  readonly #stride: number;
  /** Ids below this are dense (depth < DENSE_DEPTH): ids are given level by level. */
  readonly #dense: number;
  readonly #fail: Int32Array;
  readonly #depth: Int32Array;
  readonly #out: Int32Array;
  readonly #firstChild: Int32Array;
  readonly #sibling: Int32Array;
  readonly #edge: Uint8Array;
  readonly #skip: Uint8Array;
  readonly #minLength: number;
  /** The longest pattern's length. */
  readonly maxLength: number;
  /** The shortest pattern's length. */
  readonly minLength: number;
  /** Scratch for the skip filter's candidate starts (scan is synchronous, so one per automaton is enough). */
  readonly #candidates = new Int32Array(4 * QUARTER);
  /** Where the last {@link #chain} left its candidates' end. */
  #chained = 0;

  /** `patterns`: distinct, each at least {@link BLOCK} bytes long. */
  constructor(patterns: readonly Uint8Array[]) {
    const classes = new Uint8Array(256);
    let total = 0;
    let denseBound = 2;
    let minLength = Number.POSITIVE_INFINITY;
    let maxLength = 0;
    for (const p of patterns) {
      total += p.length;
      denseBound += Math.min(p.length, DENSE_DEPTH - 1);
      minLength = Math.min(minLength, p.length);
      maxLength = Math.max(maxLength, p.length);
      for (const b of p) classes[b] = 1;
    }
    let k = 0;
    for (let b = 0; b < 256; b += 1) if (classes[b] === 1) classes[b] = ++k;
    // Patterns are canonical (see CANON): each byte reads as its canonical byte, an upper-case letter as its lower
    // case and the url-safe base64 characters as the standard ones.
    for (let b = 0; b < 256; b += 1) if (CANON[b] !== b) classes[b] = classes[CANON[b]!]!;
    const stride = k + 1;
    const states = total + 2;
    const table = new Int32Array(denseBound * stride);
    const fail = new Int32Array(states);
    const depth = new Int32Array(states);
    const out = new Int32Array(states);
    const firstChild = new Int32Array(states);
    const sibling = new Int32Array(states);
    const edge = new Uint8Array(states);
    this.#classes = classes;
    this.#stride = stride;
    this.#table = table;
    this.#fail = fail;
    this.#depth = depth;
    this.#out = out;
    this.#firstChild = firstChild;
    this.#sibling = sibling;
    this.#edge = edge;
    this.#minLength = minLength;
    this.maxLength = maxLength;
    this.minLength = minLength;
    const own = new Int32Array(states);
    const parent = new Int32Array(states);
    table.fill(ROOT * stride, ROOT * stride, ROOT * stride + stride);

    // The trie, one level at a time, so that a level's failure links only need the levels above it.
    const order = patterns.map((_, i) => i).sort((a, b) => patterns[b]!.length - patterns[a]!.length);
    const current = new Int32Array(patterns.length).fill(ROOT);
    let next = ROOT + 1;
    let dense = 0;
    for (let d = 1; d <= maxLength; d += 1) {
      const first = next;
      if (d === DENSE_DEPTH) dense = first;
      for (const i of order) {
        const p = patterns[i]!;
        if (p.length < d) break;
        const u = current[i]!;
        const c = classes[p[d - 1]!]!;
        let v = firstChild[u]!;
        while (v !== 0 && edge[v] !== c) v = sibling[v]!;
        if (v === 0) {
          v = next++;
          depth[v] = d;
          edge[v] = c;
          parent[v] = u;
          sibling[v] = firstChild[u]!;
          firstChild[u] = v;
        }
        if (p.length === d) own[v] = d;
        current[i] = v;
      }
      for (let v = first; v < next; v += 1) {
        const u = parent[v]!;
        const f = u === ROOT ? ROOT : this.#goto(fail[u]!, edge[v]!);
        fail[v] = f;
        out[v] = Math.max(own[v]!, out[f]!);
        if (depth[u]! < DENSE_DEPTH) table[u * stride + edge[v]!] = this.#encode(v);
      }
    }
    this.#dense = dense === 0 ? next : dense;

    const skip = new Uint8Array(1 << HASH_BITS).fill(Math.min(255, minLength - BLOCK + 1));
    for (const p of patterns) {
      for (let j = BLOCK - 1; j < minLength; j += 1) {
        const shift = minLength - 1 - j;
        // The text may hold any byte that reads as the block's: `+` or `-`, `/` or `_` (FOLD takes care of case).
        for (const a of SPELLINGS[p[j - 3]!]!) {
          for (const b of SPELLINGS[p[j - 2]!]!) {
            for (const c of SPELLINGS[p[j - 1]!]!) {
              for (const d of SPELLINGS[p[j]!]!) {
                const h =
                  Math.imul((a << 24) | (b << 16) | (c << 8) | d | FOLD, HASH_MULTIPLIER) >>> HASH_SHIFT;
                if (shift < skip[h]!) skip[h] = shift;
              }
            }
          }
        }
      }
    }
    this.#skip = skip;
  }

  /** The state after reading `byte` in state `id` (ids as in {@link ROOT}); for the escape-aware scanner. */
  step(id: number, byte: number): number {
    return this.#goto(id, this.#classes[byte]!);
  }

  /** How many bytes of a pattern state `id` has matched. */
  depthOf(id: number): number {
    return this.#depth[id]!;
  }

  /** The length of the longest pattern that ends in state `id`, 0 when none does. */
  matchOf(id: number): number {
    return this.#out[id]!;
  }

  /** Whether `byte` (in either case) occurs in any pattern. */
  occurs(byte: number): boolean {
    return this.#classes[byte] !== 0;
  }

  /** A dense row's entry for a transition into state `v`. */
  #encode(v: number): number {
    return this.#depth[v]! < DENSE_DEPTH && this.#out[v] === 0 ? v * this.#stride : ~v;
  }

  /** The automaton's transition from state `id` on byte class `c`, memoised in `id`'s row when it has one. */
  #goto(id: number, c: number): number {
    const table = this.#table;
    const stride = this.#stride;
    const depth = this.#depth;
    const start = id;
    let to: number;
    for (;;) {
      if (depth[id]! < DENSE_DEPTH) {
        // A dense row holds all of the state's children, so 0 means no child: fall back along the failure link.
        const x = table[id * stride + c]!;
        if (x !== 0) {
          to = x > 0 ? x / stride : ~x;
          break;
        }
      } else {
        let v = this.#firstChild[id]!;
        while (v !== 0 && this.#edge[v] !== c) v = this.#sibling[v]!;
        if (v !== 0) {
          to = v;
          break;
        }
      }
      id = this.#fail[id]!;
    }
    if (depth[start]! < DENSE_DEPTH) table[start * stride + c] = this.#encode(to);
    return to;
  }

  /**
   * One chain of the skip filter from the window whose last block is at `w` until the block reaches `end`, its
   * candidate starts written from index `c` on (the new end in {@link #chained}); returns where the chain stopped.
   */
  #chain(view: DataView, w: number, end: number, c: number): number {
    const skip = this.#skip;
    const candidates = this.#candidates;
    const delta = this.#minLength - BLOCK;
    while (w < end) {
      const shift = skip[Math.imul(view.getInt32(w) | FOLD, HASH_MULTIPLIER) >>> HASH_SHIFT]!;
      if (shift === 0) candidates[c++] = w++ - delta;
      else w += shift;
    }
    this.#chained = c;
    return w;
  }

  /**
   * Finds the matches in `data` — for each place where a pattern ends, the longest one ending there (any shorter
   * one is inside it) — and appends each as a `start, end` pair to `found`; they may overlap. Returns how far the
   * data is settled: when `final`, all of it; otherwise where the automaton's current partial match begins (its
   * depth back from the end): those bytes, and only those, may still become part of a match once more data arrives.
   *
   * From each candidate start the automaton runs from the root until it is back at the root (no partial match
   * left), so every occurrence that starts in that stretch is seen, and stretches do not overlap. Each such run is
   * appended to `runs` as a `start, end` pair when given: outside them no partial match is as long as the shortest
   * pattern (one that long begins with a whole window, which the filter proposes), which the scanner relies on.
   */
  scan(data: Buffer, final: boolean, found: number[], runs?: number[]): number {
    const table = this.#table;
    const classes = this.#classes;
    const stride = this.#stride;
    const depth = this.#depth;
    const out = this.#out;
    const skip = this.#skip;
    const dense = this.#dense;
    const m = this.#minLength;
    const rootOffset = ROOT * stride;
    const n = data.length;
    const candidates = this.#candidates;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const last = n - m; // the last start with a whole window inside the data
    let i = 0; // every occurrence starting before i is dealt with
    let p = 0; // where the skip filter goes on
    let next = 0;
    let count = 0;
    outer: for (;;) {
      let start: number;
      for (;;) {
        while (next < count && candidates[next]! < i) next += 1;
        if (next < count) {
          start = candidates[next++]!;
          break;
        }
        if (p < i) p = i;
        if (p > last) {
          // Too close to the end for a window: the automaton runs over the rest.
          start = p;
          break;
        }
        // Candidate starts in [p, end), from four interleaved chains of windows (quarters of the span): the loop
        // is bound by the latency of each step (load, hash, table load), so independent chains run side by side.
        // A window starting at s ends with the block at s + m - BLOCK, read as one big-endian load; when that block
        // has a non-zero shift, no occurrence starts at any of the next `shift` starts, so the chain jumps them.
        const end = Math.min(p + SPAN, last + 1);
        const q = (end - p) >> 2;
        const b0 = p + m - BLOCK;
        let w0 = b0;
        let w1 = b0 + q;
        let w2 = b0 + 2 * q;
        let w3 = b0 + 3 * q;
        const e0 = w1;
        const e1 = w2;
        const e2 = w3;
        const e3 = end + m - BLOCK;
        let c0 = 0;
        let c1 = QUARTER;
        let c2 = 2 * QUARTER;
        let c3 = 3 * QUARTER;
        const delta = m - BLOCK;
        while (w0 < e0 && w1 < e1 && w2 < e2 && w3 < e3) {
          const s0 = skip[Math.imul(view.getInt32(w0) | FOLD, HASH_MULTIPLIER) >>> HASH_SHIFT]!;
          const s1 = skip[Math.imul(view.getInt32(w1) | FOLD, HASH_MULTIPLIER) >>> HASH_SHIFT]!;
          const s2 = skip[Math.imul(view.getInt32(w2) | FOLD, HASH_MULTIPLIER) >>> HASH_SHIFT]!;
          const s3 = skip[Math.imul(view.getInt32(w3) | FOLD, HASH_MULTIPLIER) >>> HASH_SHIFT]!;
          if (s0 === 0) candidates[c0++] = w0++ - delta;
          else w0 += s0;
          if (s1 === 0) candidates[c1++] = w1++ - delta;
          else w1 += s1;
          if (s2 === 0) candidates[c2++] = w2++ - delta;
          else w2 += s2;
          if (s3 === 0) candidates[c3++] = w3++ - delta;
          else w3 += s3;
        }
        // Each chain's remaining windows, and its candidates moved up behind the previous chain's.
        this.#chain(view, w0, e0, c0);
        c0 = this.#chained;
        this.#chain(view, w1, e1, c1);
        c1 = this.#chained;
        candidates.copyWithin(c0, QUARTER, c1);
        count = c0 + c1 - QUARTER;
        this.#chain(view, w2, e2, c2);
        c2 = this.#chained;
        candidates.copyWithin(count, 2 * QUARTER, c2);
        count += c2 - 2 * QUARTER;
        w3 = this.#chain(view, w3, e3, c3);
        c3 = this.#chained;
        candidates.copyWithin(count, 3 * QUARTER, c3);
        count += c3 - 3 * QUARTER;
        next = 0;
        p = w3 - delta;
      }
      i = start;
      let s = rootOffset;
      for (;;) {
        // Dense states that end no pattern: one table load per byte.
        for (;;) {
          if (i >= n) {
            runs?.push(start, n);
            return final ? n : n - depth[s / stride]!;
          }
          const x = table[s + classes[data[i]!]!]!;
          if (x <= 0) break;
          i += 1;
          if (x === rootOffset) {
            runs?.push(start, i);
            continue outer;
          }
          s = x;
        }
        // Anything else, by state id: deep states, unknown entries, and matches, each reported where it ends.
        let id = s / stride;
        for (;;) {
          if (i >= n) {
            runs?.push(start, n);
            return final ? n : n - depth[id]!;
          }
          id = this.#goto(id, classes[data[i]!]!);
          i += 1;
          const o = out[id]!;
          if (o > 0) found.push(i - o, i);
          if (id === ROOT) {
            runs?.push(start, i);
            continue outer;
          }
          if (id < dense && o === 0) break;
        }
        s = id * stride;
      }
    }
  }
}
