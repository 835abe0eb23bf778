import { Transform, type TransformCallback } from 'node:stream';
import { encodedForms, MIN_REDACTABLE_LENGTH, REDACTION_MARKER } from './forms.js';

/** A secret as the redactor takes it; `SecretValue` satisfies this. */
export interface RedactableSecret {
  readonly name: string;
  bytes(): Buffer;
}

/** A redacting Transform: counts what it replaced. */
export interface RedactingStream extends Transform {
  readonly count: number;
}

const MARKER = Buffer.from(REDACTION_MARKER, 'utf8');
const BLOCK = 3;
const TABLE = 1 << 16;

// Folds 24 bits of a 3-byte block into 16; text bytes are mostly 7-bit, so every input bit must reach the result.
function hash(a: number, b: number, c: number): number {
  const x = (a << 16) | (b << 8) | c;
  return (x ^ (x >>> 9) ^ (x >>> 17)) & 0xffff;
}

interface Scan {
  /** Start offsets and lengths of the matches, leftmost-longest, non-overlapping. */
  readonly starts: number[];
  readonly lengths: number[];
}

/**
 * Multi-pattern matcher (Wu–Manber): a shift table over 3-byte blocks lets the scan skip ahead by up to the
 * shortest pattern's length on bytes that cannot end a pattern prefix, and candidate positions are verified
 * byte by byte. Matches are leftmost-longest and do not overlap.
 */
class Matcher {
  readonly #patterns: Buffer[];
  readonly #m: number;
  readonly #maxLen: number;
  readonly #shift: Uint8Array;
  readonly #head: Int32Array;
  readonly #next: Int32Array;
  readonly #first: Uint8Array;
  readonly #prefixes: Set<string>;

  constructor(patterns: Buffer[]) {
    this.#patterns = patterns;
    this.#m = Math.min(...patterns.map((p) => p.length));
    this.#maxLen = Math.max(...patterns.map((p) => p.length));
    const m = this.#m;
    const defaultShift = Math.min(255, m - BLOCK + 1);
    this.#shift = new Uint8Array(TABLE).fill(defaultShift);
    this.#head = new Int32Array(TABLE).fill(-1);
    this.#next = new Int32Array(patterns.length).fill(-1);
    this.#first = new Uint8Array(256);
    this.#prefixes = new Set();
    patterns.forEach((p, index) => {
      for (let j = BLOCK - 1; j < m; j += 1) {
        const h = hash(p[j - 2]!, p[j - 1]!, p[j]!);
        const s = m - 1 - j;
        if (s < this.#shift[h]!) this.#shift[h] = s;
      }
      const h = hash(p[m - 3]!, p[m - 2]!, p[m - 1]!);
      this.#next[index] = this.#head[h]!;
      this.#head[h] = index;
      this.#first[p[0]!] = 1;
      for (let len = 1; len < p.length; len += 1) this.#prefixes.add(p.toString('latin1', 0, len));
    });
  }

  /** Finds every complete match in `data`. */
  scan(data: Buffer): Scan {
    const starts: number[] = [];
    const lengths: number[] = [];
    const m = this.#m;
    const n = data.length;
    const shift = this.#shift;
    const head = this.#head;
    const next = this.#next;
    const patterns = this.#patterns;
    let pos = m - 1;
    while (pos < n) {
      const h = hash(data[pos - 2]!, data[pos - 1]!, data[pos]!);
      const s = shift[h]!;
      if (s !== 0) {
        pos += s;
        continue;
      }
      const start = pos - m + 1;
      let bestLen = 0;
      for (let i = head[h]!; i !== -1; i = next[i]!) {
        const p = patterns[i]!;
        const len = p.length;
        if (len <= bestLen || start + len > n || p[0] !== data[start] || p[1] !== data[start + 1]) continue;
        let k = 2;
        while (k < len && p[k] === data[start + k]) k += 1;
        if (k === len) bestLen = len;
      }
      if (bestLen > 0) {
        starts.push(start);
        lengths.push(bestLen);
        pos = start + bestLen + m - 1;
      } else {
        pos += 1;
      }
    }
    return { starts, lengths };
  }

  /**
   * Where the bytes that may still become a match start: the earliest position whose suffix is a proper prefix of
   * some pattern. Only those bytes are held back at a chunk boundary; everything before them is final.
   */
  holdback(data: Buffer): number {
    const n = data.length;
    for (let p = Math.max(0, n - this.#maxLen + 1); p < n; p += 1) {
      if (this.#first[data[p]!] === 1 && this.#prefixes.has(data.toString('latin1', p, n))) return p;
    }
    return n;
  }
}

/** Replaces the matches that end at or before `cut`; returns the pieces to emit, and how many were replaced. */
function assemble(data: Buffer, scan: Scan, cut: number): { pieces: Buffer[]; count: number; end: number } {
  const pieces: Buffer[] = [];
  let at = 0;
  let count = 0;
  let end = cut;
  for (let i = 0; i < scan.starts.length; i += 1) {
    const start = scan.starts[i]!;
    if (start >= end) break;
    const stop = start + scan.lengths[i]!;
    if (start > at) pieces.push(data.subarray(at, start));
    pieces.push(MARKER);
    count += 1;
    at = stop;
    // A complete match that starts before the held-back tail is final even if it runs into that tail.
    if (stop > end) end = stop;
  }
  if (end > at) pieces.push(data.subarray(at, end));
  return { pieces, count, end };
}

/**
 * Replaces every secret — raw and in its encoded forms (see {@link encodedForms}) — with
 * `[REDACTED_BY_AGENTSECRETS]`, in whole buffers or in a stream. Values shorter than 8 bytes are not redacted and
 * are listed in {@link Redactor.skipped}. Overlapping matches resolve leftmost-longest. Nothing about the values can
 * be printed from the object.
 *
 * @example
 * ```ts
 * const redactor = new Redactor([secretValue]);
 * upstreamBody.pipe(redactor.createStream()).pipe(res);
 * ```
 */
export class Redactor {
  readonly #matcher: Matcher | undefined;
  readonly #size: number;
  readonly skipped: readonly string[];

  constructor(secrets: Iterable<RedactableSecret>) {
    const skipped: string[] = [];
    const seen = new Set<string>();
    const patterns: Buffer[] = [];
    for (const secret of secrets) {
      const value = secret.bytes();
      if (value.length < MIN_REDACTABLE_LENGTH) {
        skipped.push(secret.name);
        continue;
      }
      for (const form of encodedForms(value)) {
        const key = form.toString('latin1');
        if (seen.has(key)) continue;
        seen.add(key);
        patterns.push(form);
      }
    }
    this.skipped = skipped;
    this.#size = patterns.length;
    this.#matcher = patterns.length === 0 ? undefined : new Matcher(patterns);
  }

  /** How many patterns (secrets × forms) are searched for. */
  get size(): number {
    return this.#size;
  }

  /** Redacts a whole buffer. */
  redactBuffer(input: Uint8Array): { output: Buffer; count: number } {
    const data = Buffer.isBuffer(input) ? input : Buffer.from(input);
    if (this.#matcher === undefined) return { output: data, count: 0 };
    const { pieces, count } = assemble(data, this.#matcher.scan(data), data.length);
    return { output: count === 0 ? data : Buffer.concat(pieces), count };
  }

  /** Redacts a string (a header value). */
  redactString(input: string): { output: string; count: number } {
    if (this.#matcher === undefined) return { output: input, count: 0 };
    const { output, count } = this.redactBuffer(Buffer.from(input, 'utf8'));
    return { output: count === 0 ? input : output.toString('utf8'), count };
  }

  /**
   * A new streaming redactor. Bytes pass through as they come; only a tail that could still be the start of a
   * secret is held back until the next chunk (so an SSE event is not delayed unless it ends in such a prefix).
   */
  createStream(): RedactingStream {
    const matcher = this.#matcher;
    let carry: Buffer | undefined;
    let count = 0;
    const stream = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        if (matcher === undefined) {
          callback(null, chunk);
          return;
        }
        const data = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
        const result = assemble(data, matcher.scan(data), matcher.holdback(data));
        count += result.count;
        carry = result.end < data.length ? data.subarray(result.end) : undefined;
        for (const piece of result.pieces) this.push(piece);
        callback();
      },
      flush(callback: TransformCallback) {
        if (matcher !== undefined && carry !== undefined) {
          const result = assemble(carry, matcher.scan(carry), carry.length);
          count += result.count;
          for (const piece of result.pieces) this.push(piece);
          carry = undefined;
        }
        callback();
      },
    }) as RedactingStream;
    Object.defineProperty(stream, 'count', { get: () => count, enumerable: true });
    return stream;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Redactor { patterns: ${this.#size}, skipped: ${JSON.stringify(this.skipped)} }`;
  }
}
