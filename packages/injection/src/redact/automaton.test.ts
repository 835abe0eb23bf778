import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Automaton } from './automaton.js';
import { CANON } from './forms.js';

/** How the automaton reads bytes: patterns are given in canonical bytes, text is read through CANON. */
const canon = (bytes: Uint8Array) => Buffer.from([...bytes].map((b) => CANON[b]!));

/** The definition: for each end position, the longest pattern that ends there. */
function longestPerEnd(patterns: readonly Buffer[], raw: Buffer): number[] {
  const data = canon(raw);
  const found: number[] = [];
  for (let end = 1; end <= data.length; end += 1) {
    let best = 0;
    for (const p of patterns) {
      if (p.length > best && p.length <= end && data.subarray(end - p.length, end).equals(p)) best = p.length;
    }
    if (best > 0) found.push(end - best, end);
  }
  return found;
}

/** Pairs in order of their end (then start), without repeats: the stream may see a match twice when it rescans. */
const normal = (found: number[]) => {
  const pairs = new Map<string, [number, number]>();
  for (let i = 0; i < found.length; i += 2)
    pairs.set(`${found[i]},${found[i + 1]}`, [found[i]!, found[i + 1]!]);
  return [...pairs.values()].sort((a, b) => a[1] - b[1] || a[0] - b[0]).flat();
};

/** Length of the longest suffix of `data[from..]` that is a prefix of (or equal to) some pattern. */
function partialAtEnd(patterns: readonly Buffer[], data: Buffer, from: number): number {
  for (let k = from; k < data.length; k += 1) {
    const tail = data.subarray(k);
    if (patterns.some((p) => p.subarray(0, tail.length).equals(tail))) return tail.length;
  }
  return 0;
}

/** Scans `data` cut at `cuts` the way the stream does: held bytes are rescanned with the next piece. */
function scanInPieces(automaton: Automaton, data: Buffer, cuts: readonly number[]): number[] {
  const all: number[] = [];
  let held = Buffer.alloc(0);
  let base = 0;
  let at = 0;
  for (const cut of [...cuts, data.length]) {
    const piece = Buffer.concat([held, data.subarray(at, cut)]);
    at = cut;
    const found: number[] = [];
    const settled = automaton.scan(piece, false, found);
    for (const x of found) all.push(base + x);
    held = piece.subarray(settled);
    base += settled;
  }
  const found: number[] = [];
  expect(automaton.scan(held, true, found)).toBe(held.length);
  for (const x of found) all.push(base + x);
  return all;
}

// Small alphabets make overlaps, shared prefixes and patterns inside patterns common.
const setup = (maxData: number) =>
  fc.integer({ min: 2, max: 4 }).chain((letters) => {
    const byte = fc.integer({ min: 97, max: 96 + letters });
    return fc.record({
      patterns: fc.uniqueArray(fc.array(byte, { minLength: 4, maxLength: 14 }), {
        minLength: 1,
        maxLength: 6,
        selector: (p) => p.join(','),
      }),
      data: fc.array(fc.oneof(byte, fc.constant(120)), { maxLength: maxData }),
      cuts: fc.uniqueArray(fc.nat(maxData), { maxLength: 6 }),
    });
  });

describe('automaton', () => {
  it('finds the longest match ending at each place, whole or in pieces', () => {
    fc.assert(
      fc.property(setup(120), ({ patterns, data, cuts }) => {
        const ps = patterns.map((p) => Buffer.from(p));
        const bytes = Buffer.from(data);
        const automaton = new Automaton(ps);
        const expected = longestPerEnd(ps, bytes);
        const found: number[] = [];
        expect(automaton.scan(bytes, true, found)).toBe(bytes.length);
        expect(found).toEqual(expected);
        const points = cuts.filter((c) => c <= bytes.length).sort((a, b) => a - b);
        expect(normal(scanInPieces(automaton, bytes, points))).toEqual(expected);
      }),
      { numRuns: 1500 },
    );
  });

  it('holds back exactly the partial match at the end, and nothing when there is none', () => {
    fc.assert(
      fc.property(setup(60), ({ patterns, data }) => {
        const ps = patterns.map((p) => Buffer.from(p));
        const bytes = Buffer.from(data);
        const found: number[] = [];
        const settled = new Automaton(ps).scan(bytes, false, found);
        expect(bytes.length - settled).toBe(partialAtEnd(ps, bytes, 0));
      }),
      { numRuns: 1500 },
    );
  });

  it('agrees with the definition on long inputs (several rounds of the skip filter)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.uint8Array({ minLength: 8, maxLength: 24 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 20_000, max: 60_000 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 40 }),
        fc.integer({ min: 1, max: 255 }),
        (patterns, length, plants, seed) => {
          const ps = [...new Map(patterns.map((p) => [canon(p).toString('latin1'), canon(p)])).values()];
          const data = Buffer.alloc(length);
          let x = seed;
          for (let i = 0; i < length; i += 1) {
            x = (x * 1103515245 + 12345) >>> 0;
            data[i] = x >>> 24;
          }
          for (const [which, where] of plants) {
            const p = ps[which % ps.length]!;
            p.copy(data, where % (length - p.length));
          }
          const found: number[] = [];
          new Automaton(ps).scan(data, true, found);
          expect(found).toEqual(longestPerEnd(ps, data));
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000); // the definition is checked naively, byte by byte against every pattern
});
