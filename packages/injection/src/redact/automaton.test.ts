import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Automaton } from './automaton.js';

/** The definition: from the left, at each position take the longest pattern starting there, then resume after it. */
function leftmostLongest(patterns: readonly Buffer[], data: Buffer): number[] {
  const found: number[] = [];
  let i = 0;
  while (i < data.length) {
    let best = 0;
    for (const p of patterns) {
      if (p.length > best && data.subarray(i, i + p.length).equals(p)) best = p.length;
    }
    if (best > 0) {
      found.push(i, i + best);
      i += best;
    } else {
      i += 1;
    }
  }
  return found;
}

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
      patterns: fc.uniqueArray(fc.array(byte, { minLength: 3, maxLength: 14 }), {
        minLength: 1,
        maxLength: 6,
        selector: (p) => p.join(','),
      }),
      data: fc.array(fc.oneof(byte, fc.constant(120)), { maxLength: maxData }),
      cuts: fc.uniqueArray(fc.nat(maxData), { maxLength: 6 }),
    });
  });

describe('automaton', () => {
  it('finds exactly the leftmost-longest non-overlapping matches, whole or in pieces', () => {
    fc.assert(
      fc.property(setup(120), ({ patterns, data, cuts }) => {
        const ps = patterns.map((p) => Buffer.from(p));
        const bytes = Buffer.from(data);
        const automaton = new Automaton(ps);
        const expected = leftmostLongest(ps, bytes);
        const found: number[] = [];
        expect(automaton.scan(bytes, true, found)).toBe(bytes.length);
        expect(found).toEqual(expected);
        const points = cuts.filter((c) => c <= bytes.length).sort((a, b) => a - b);
        expect(scanInPieces(automaton, bytes, points)).toEqual(expected);
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
        const resumeAt = found.length > 0 ? found[found.length - 1]! : 0;
        expect(bytes.length - settled).toBe(partialAtEnd(ps, bytes, resumeAt));
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
          const ps = patterns.map((p) => Buffer.from(p));
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
          expect(found).toEqual(leftmostLongest(ps, data));
        },
      ),
      { numRuns: 40 },
    );
  });
});
