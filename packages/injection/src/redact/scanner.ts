/**
 * Finds every place where text reads as a pattern: literally (in either case), or through escapes.
 *
 * Two passes over the same bytes. The literal pass is the automaton's own scan (skip filter and all). The escape
 * pass starts only where the text holds a byte that can begin an escape (`%`, `\`, `&`, `+`) or a line break that
 * a match may skip (see {@link isBarrier}); there it takes the automaton's state from the literal text just before
 * (a pattern may begin literally and go on escaped), follows every reading of the escape (see {@link EscapeReader})
 * and then the text after it, byte by byte or through further escapes, until the automaton is back at its root.
 * Each followed path is a thread; threads that meet at the same place in the same state are followed once. A
 * thread keeps, for each byte of its current partial match, where in the text that byte began, so a match maps back
 * to the span of text that spells it.
 *
 * Matches are reported as `start, end` pairs; they may overlap (the caller redacts their union).
 */
import { type Automaton, ROOT } from './automaton.js';
import { beginsEscape, EscapeReader, NEED_MORE, type Reading } from './decode.js';
import { type BARRIER_CONTEXT, CANON, isBarrier } from './forms.js';

const LF = 0x0a;
const CR = 0x0d;
/** Up to this many two-byte searches stand in for a search of every `+` (see Scanner's `#plusNeedles`). */
const MAX_PLUS_NEEDLES = 4;

/** A path being followed: automaton state, position in the text, and where each matched byte began. */
interface Thread {
  state: number;
  pos: number;
  /** Text offsets of the bytes of the current partial match, oldest first (its length is the state's depth). */
  starts: number[];
}

export class Scanner {
  readonly #automaton: Automaton;
  /** `a * 256 + b` is set when canonical bytes a, b stand side by side in some pattern. */
  readonly #pairs: Uint8Array;
  /** Bytes that begin some pattern. */
  readonly #firsts: Uint8Array;
  /** Whether a space occurs in any pattern: only then can a form `+` be part of a match. */
  readonly #plus: boolean;
  /**
   * When no pattern begins with a space and few bytes stand before one: each such byte followed by `+`, the only
   * places where a `+` can matter (found without stopping at every `+` of base64 text). Undefined otherwise.
   */
  readonly #plusNeedles: readonly Buffer[] | undefined;
  /** Scratch for one scan's followed threads (scans are synchronous, so one per scanner is enough). */
  readonly #visited = new Map<number, number>();

  constructor(automaton: Automaton, patterns: readonly Uint8Array[]) {
    this.#automaton = automaton;
    const pairs = new Uint8Array(256 * 256);
    const firsts = new Uint8Array(256);
    for (const p of patterns) {
      firsts[p[0]!] = 1;
      for (let i = 0; i + 1 < p.length; i += 1) pairs[p[i]! * 256 + p[i + 1]!] = 1;
    }
    this.#pairs = pairs;
    this.#firsts = firsts;
    this.#plus = automaton.occurs(0x20);
    const before: number[] = [];
    for (let b = 0; b < 256; b += 1) if (pairs[CANON[b]! * 256 + 0x20] === 1) before.push(b);
    this.#plusNeedles =
      firsts[0x20] === 0 && before.length <= MAX_PLUS_NEEDLES
        ? before.map((b) => Buffer.from([b, 0x2b]))
        : undefined;
  }

  /**
   * Appends the `start, end` pairs of every match in `data` from offset `from` on to `found` and returns how far the
   * data is settled: all of it when `final`, else the earliest place where a partial match (literal or escaped) or
   * an unfinished escape begins. Only the bytes from there on can still become part of a match. The bytes before
   * `from` are context only: no match begins there (they are settled), but they tell whether a line break at the
   * start is a barrier (see {@link BARRIER_CONTEXT}).
   */
  scan(data: Buffer, final: boolean, found: number[], from = 0): number {
    let settled: number;
    const runs: number[] = [];
    if (from === 0) {
      settled = this.#automaton.scan(data, final, found, runs);
    } else {
      const literal: number[] = [];
      settled = from + this.#automaton.scan(data.subarray(from), final, literal, runs);
      for (const x of literal) found.push(x + from);
      for (let i = 0; i < runs.length; i += 1) runs[i]! += from;
    }
    const reader = new EscapeReader(data, final);
    const visited = this.#visited;
    if (visited.size > 0) visited.clear();
    const unsettle = (at: number) => {
      if (at < settled) settled = at;
    };
    const automaton = this.#automaton;
    const start = (e: number) => this.#startAt(data, from, runs, e, reader, visited, found, unsettle, final);
    for (const starter of [0x25, 0x5c, 0x26]) {
      for (let e = data.indexOf(starter, from); e !== -1; e = data.indexOf(starter, e + 1)) start(e);
    }
    // Line breaks and `+` are common in text and rarely matter: a break only inside a partial match, so after a
    // byte that occurs in some pattern; a `+` (a space) only where a space can follow the byte before it.
    for (const starter of [CR, LF]) {
      for (let e = data.indexOf(starter, from); e !== -1; e = data.indexOf(starter, e + 1)) {
        if (e > from && automaton.occurs(data[e - 1]!)) start(e);
      }
    }
    const needles = this.#plusNeedles;
    if (!this.#plus) {
      // No `+` can be part of a match.
    } else if (needles !== undefined) {
      for (const needle of needles) {
        for (let e = data.indexOf(needle, from); e !== -1; e = data.indexOf(needle, e + 1)) start(e + 1);
      }
    } else {
      const space = this.#firsts[0x20] === 1;
      for (let e = data.indexOf(0x2b, from); e !== -1; e = data.indexOf(0x2b, e + 1)) {
        if (space || (e > from && this.#pairs[CANON[data[e - 1]!]! * 256 + 0x20] === 1)) start(e);
      }
    }
    if (visited.size > 0) visited.clear();
    return settled;
  }

  /** Starts the threads of the starter byte at `e`, each from the literal state just before it. */
  #startAt(
    data: Buffer,
    from: number,
    runs: readonly number[],
    e: number,
    reader: EscapeReader,
    visited: Map<number, number>,
    found: number[],
    unsettle: (at: number) => void,
    final: boolean,
  ): void {
    const automaton = this.#automaton;
    const byte = data[e]!;
    const isBreak = byte === LF || byte === CR;
    const barrier = byte === LF ? isBarrier(data, e) : false;
    if (barrier === true) return;
    // Whether canonical byte `b` can follow the text before `e` in a match: it begins a pattern, or follows the
    // byte before `e` in one. A cheap test that rules out most starters before any state is computed.
    const before = e > from ? CANON[data[e - 1]!]! : -1;
    const canFollow = (b: number) =>
      b === LF ||
      b === CR ||
      this.#firsts[CANON[b]!] === 1 ||
      (before >= 0 && this.#pairs[before * 256 + CANON[b]!] === 1);
    let readings: readonly Reading[] = [];
    if (isBreak) {
      let after = e + 1;
      while (after < data.length && (data[after] === CR || data[after] === LF)) after += 1;
      if (
        after < data.length &&
        !beginsEscape(data[after]!) &&
        (before < 0 || this.#pairs[before * 256 + CANON[data[after]!]!] === 0)
      ) {
        return;
      }
    } else {
      if (byte === 0x2b && !canFollow(0x20)) return;
      try {
        readings = reader.escapesAt(e).filter((r) => canFollow(r.bytes[0]!));
      } catch (error) {
        if (error !== NEED_MORE) throw error;
        unsettle(this.#partialStart(from, runs, e));
        return;
      }
      if (readings.length === 0) return;
    }
    // The literal partial match that ends here (none when the byte before is in no pattern).
    let state = ROOT;
    if (e > from && automaton.occurs(data[e - 1]!)) {
      for (let i = this.#partialStart(from, runs, e); i < e; i += 1) state = automaton.step(state, data[i]!);
    }
    // A line break can only be skipped inside a partial match; an escape needs one, or to begin a pattern itself.
    if (state === ROOT && (isBreak || readings.every((r) => automaton.step(ROOT, r.bytes[0]!) === ROOT)))
      return;
    const depth = automaton.depthOf(state);
    if (barrier === undefined) {
      // The byte after the break decides whether it may be skipped.
      if (!final) unsettle(e - depth);
      return;
    }
    const starts = Array.from({ length: depth }, (_, i) => e - depth + i);
    this.#follow({ state, pos: e, starts }, readings, data, reader, visited, found, unsettle, final);
  }

  /**
   * Where the literal partial match ending at `e` can begin at the earliest, so that the automaton run from there
   * gives the state at `e`. Outside the literal pass's runs a partial match is shorter than the shortest pattern
   * (see Automaton.scan); inside one it may reach back to the run's start.
   */
  #partialStart(from: number, runs: readonly number[], e: number): number {
    let begin = e - this.#automaton.minLength + 1;
    // The run that holds `e`, if any: runs are in order and few.
    let lo = 0;
    let hi = runs.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (runs[2 * mid]! < e) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && runs[2 * (lo - 1) + 1]! > e) begin = Math.min(begin, runs[2 * (lo - 1)]!);
    return Math.max(from, begin);
  }

  /**
   * Follows a thread that stands at an escape starter or a skippable break — its first step is the escape's
   * readings or the skip, never the plain byte, which is the literal pass's — and every thread it forks.
   */
  #follow(
    first: Thread,
    firstReadings: readonly Reading[],
    data: Buffer,
    reader: EscapeReader,
    visited: Map<number, number>,
    found: number[],
    unsettle: (at: number) => void,
    final: boolean,
  ): void {
    const automaton = this.#automaton;
    const n = data.length;
    const stack: Thread[] = [];
    const partialStart = (t: Thread) => t.starts[0] ?? t.pos;
    /** The thread after reading `bytes`, which span the text from its position to `end`; undefined at the root. */
    const advance = (t: Thread, bytes: readonly number[], end: number): Thread | undefined => {
      let state = t.state;
      const starts = t.starts.slice();
      for (const b of bytes) {
        if (b === LF || b === CR) continue; // an escaped line break is skipped like a raw one
        state = automaton.step(state, b);
        starts.push(t.pos);
        const depth = automaton.depthOf(state);
        if (starts.length > depth) starts.splice(0, starts.length - depth);
        const match = automaton.matchOf(state);
        if (match > 0) found.push(starts[starts.length - match]!, end);
      }
      return state === ROOT ? undefined : { state, pos: end, starts };
    };
    /** Pushes the thread's escape readings (`known`, or read here). */
    const branch = (t: Thread, known?: readonly Reading[]): void => {
      let readings: readonly Reading[];
      try {
        readings = known ?? reader.escapesAt(t.pos);
      } catch (e) {
        if (e !== NEED_MORE) throw e;
        unsettle(partialStart(t));
        return;
      }
      for (const r of readings) {
        const next = advance(t, r.bytes, r.end);
        if (next !== undefined) stack.push(next);
      }
    };
    const byte = data[first.pos]!;
    if (byte === LF || byte === CR) stack.push({ ...first, pos: first.pos + 1 });
    else branch(first, firstReadings);
    while (stack.length > 0) {
      const t = stack.pop()!;
      for (;;) {
        const start = partialStart(t);
        if (t.pos >= n) {
          if (!final) unsettle(start);
          break;
        }
        const key = t.pos * 0x1000000 + t.state;
        const seen = visited.get(key);
        if (seen !== undefined && seen <= start) break;
        visited.set(key, start);
        const b = data[t.pos]!;
        if (b === CR) {
          t.pos += 1;
          continue;
        }
        if (b === LF) {
          const barrier = isBarrier(data, t.pos);
          if (barrier === true) break;
          if (barrier === undefined && !final) {
            unsettle(start);
            break;
          }
          t.pos += 1;
          continue;
        }
        if (beginsEscape(b)) branch(t);
        const next = advance(t, [b], t.pos + 1);
        if (next === undefined) break;
        t.state = next.state;
        t.pos = next.pos;
        t.starts = next.starts;
      }
    }
  }
}
