/**
 * Reading escapes at a position of the text, the way a decoder would, nested up to three deep: JSON string escapes
 * (`\"`, `\n`, `\uXXXX` of any character, surrogate pairs), URL percent-escapes and the form `+`, and HTML character
 * references (`&#65;`, `&#x41;`, `&amp;` …). A nested escape is an escape whose own characters are escaped by an
 * outer layer (`%5C%22` is `\"` URL-encoded, so `"` two deep), so each character of an escape's syntax is read with
 * one level less. Hex digits, `\u`, `&#x` and entity names are read in either case, as in an upper-cased echo.
 *
 * Only what the scanner needs: it asks for the readings of a position where the text holds `%`, `\`, `&` or `+`
 * (every escape, nested or not, begins with one of them) and follows each.
 */

/** Nesting depth read: any composition of up to three escapings. */
export const MAX_DEPTH = 3;

/** One way to read the text at a position: the bytes it stands for, and where it ends. */
export interface Reading {
  readonly bytes: readonly number[];
  readonly end: number;
}

/** Thrown when a reading needs bytes beyond the data (a stream's next chunk will tell). */
export const NEED_MORE: unique symbol = Symbol('need more data');

/** Bytes that can begin an escape. */
export function beginsEscape(byte: number): boolean {
  return byte === 0x25 || byte === 0x5c || byte === 0x26 || byte === 0x2b;
}

const SHORT: Readonly<Record<number, number>> = {
  34: 0x22, // \"
  92: 0x5c, // \\
  47: 0x2f, // \/
  98: 0x08, // \b
  102: 0x0c, // \f
  110: 0x0a, // \n
  114: 0x0d, // \r
  116: 0x09, // \t
};

/** HTML's named references for the characters that encoders and echo services write as names. */
const ENTITIES: Readonly<Record<string, number>> = {
  amp: 0x26,
  lt: 0x3c,
  gt: 0x3e,
  quot: 0x22,
  apos: 0x27,
  sol: 0x2f,
  bsol: 0x5c,
  percnt: 0x25,
  plus: 0x2b,
  equals: 0x3d,
  colon: 0x3a,
  semi: 0x3b,
  comma: 0x2c,
  period: 0x2e,
  excl: 0x21,
  quest: 0x3f,
  num: 0x23,
  dollar: 0x24,
  lpar: 0x28,
  rpar: 0x29,
  ast: 0x2a,
  commat: 0x40,
  lsqb: 0x5b,
  rsqb: 0x5d,
  lcub: 0x7b,
  rcub: 0x7d,
  verbar: 0x7c,
  hat: 0x5e,
  grave: 0x60,
  lowbar: 0x5f,
  tilde: 0x7e,
  nbsp: 0xa0,
  newline: 0x0a,
  tab: 0x09,
};
const MAX_ENTITY_NAME = 8;
/** Digits of a numeric reference, leading zeros included, before we stop reading. */
const MAX_ENTITY_DIGITS = 12;
/** Readings kept per position and depth: far above what real text makes, and a bound on what hostile text costs. */
const MAX_READINGS = 32;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function isAlnum(c: number): boolean {
  const l = c | 0x20;
  return (l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

function utf8Bytes(code: number): number[] {
  if (code < 0x80) return [code];
  if (code < 0x800) return [0xc0 | (code >> 6), 0x80 | (code & 63)];
  if (code < 0x10000) return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63)];
  return [0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63)];
}

/** A one-byte reading as a `[byte, end]` pair: what escape syntax is made of. */
type Char = readonly [byte: number, end: number];

/**
 * The escape readings of one piece of text, memoised per position and depth. Create one per scan; it throws
 * {@link NEED_MORE} when the data ends inside a possible escape and the data is not `final`.
 */
export class EscapeReader {
  readonly #data: Uint8Array;
  readonly #final: boolean;
  readonly #chars = new Map<number, readonly Char[]>();
  readonly #escapes = new Map<number, readonly Reading[]>();

  constructor(data: Uint8Array, final: boolean) {
    this.#data = data;
    this.#final = final;
  }

  /** Every reading of the text at `pos` that undoes at least one escape (the plain byte is not among them). */
  escapesAt(pos: number): readonly Reading[] {
    const data = this.#data;
    const byte = data[pos]!;
    if (byte === 0x2b) return [{ bytes: [0x20], end: pos + 1 }]; // nothing else begins with a `+`
    // Most of these bytes in real text begin no escape: say so without reading further.
    if (pos + 1 < data.length) {
      const next = data[pos + 1]!;
      if (!beginsEscape(next)) {
        if (byte === 0x25 && hexValue(next) < 0) return [];
        if (
          byte === 0x5c &&
          SHORT[next] === undefined &&
          SHORT[next | 0x20] === undefined &&
          (next | 0x20) !== 0x75
        ) {
          return [];
        }
        if (byte === 0x26 && next !== 0x23 && !isAlnum(next)) return [];
      }
    }
    return this.#escapesAt(pos, MAX_DEPTH);
  }

  /** One-byte readings at `pos` up to `depth`: the byte itself, and escapes that stand for a single byte. */
  #char(pos: number, depth: number): readonly Char[] {
    if (pos >= this.#data.length) {
      if (this.#final) return [];
      throw NEED_MORE;
    }
    const byte = this.#data[pos]!;
    if (depth === 0 || !beginsEscape(byte)) return [[byte, pos + 1]];
    const key = pos * 4 + depth;
    const known = this.#chars.get(key);
    if (known !== undefined) return known;
    const out: Char[] = [[byte, pos + 1]];
    for (const r of this.#escapesAt(pos, depth)) if (r.bytes.length === 1) out.push([r.bytes[0]!, r.end]);
    this.#chars.set(key, out);
    return out;
  }

  #escapesAt(pos: number, depth: number): readonly Reading[] {
    if (depth === 0) return [];
    const key = pos * 4 + depth;
    const known = this.#escapes.get(key);
    if (known !== undefined) return known;
    const out: Reading[] = [];
    const add = (bytes: readonly number[], end: number) => {
      if (out.length >= MAX_READINGS) return;
      for (const r of out) {
        if (r.end === end && r.bytes.length === bytes.length && r.bytes.every((b, i) => b === bytes[i]))
          return;
      }
      out.push({ bytes, end });
    };
    const inner = depth - 1;
    for (const [c, next] of this.#char(pos, inner)) {
      if (c === 0x2b) add([0x20], next);
      else if (c === 0x25) this.#percent(next, inner, add);
      else if (c === 0x5c) this.#backslash(next, inner, add);
      else if (c === 0x26) this.#reference(next, inner, add);
    }
    this.#escapes.set(key, out);
    return out;
  }

  /** `%XX` after the `%`. */
  #percent(pos: number, depth: number, add: (bytes: readonly number[], end: number) => void): void {
    for (const [h1, p1] of this.#char(pos, depth)) {
      const high = hexValue(h1);
      if (high < 0) continue;
      for (const [h2, p2] of this.#char(p1, depth)) {
        const low = hexValue(h2);
        if (low >= 0) add([(high << 4) | low], p2);
      }
    }
  }

  /** `n` hex digits from `pos`: each value with where it ends. */
  #hexDigits(pos: number, n: number, depth: number): [value: number, end: number][] {
    let partial: [number, number][] = [[0, pos]];
    for (let i = 0; i < n && partial.length > 0; i += 1) {
      const next: [number, number][] = [];
      for (const [value, at] of partial) {
        for (const [c, end] of this.#char(at, depth)) {
          const h = hexValue(c);
          if (h >= 0) next.push([(value << 4) | h, end]);
        }
      }
      partial = next.slice(0, MAX_READINGS);
    }
    return partial;
  }

  /** A JSON escape after the `\`: a short escape, or `\uXXXX` (with its low surrogate when it is a high one). */
  #backslash(pos: number, depth: number, add: (bytes: readonly number[], end: number) => void): void {
    for (const [c, next] of this.#char(pos, depth)) {
      const lower = c | 0x20;
      const short = SHORT[c] ?? (c >= 0x41 && c <= 0x5a ? SHORT[lower] : undefined);
      if (short !== undefined) {
        add([short], next);
        continue;
      }
      if (lower !== 0x75) continue;
      for (const [unit, end] of this.#hexDigits(next, 4, depth)) {
        if (unit < 0xd800 || unit > 0xdfff) {
          add(utf8Bytes(unit), end);
          continue;
        }
        if (unit > 0xdbff) continue; // a lone low surrogate stands for no character
        for (const [b, p] of this.#char(end, depth)) {
          if (b !== 0x5c) continue;
          for (const [u, q] of this.#char(p, depth)) {
            if ((u | 0x20) !== 0x75) continue;
            for (const [low, last] of this.#hexDigits(q, 4, depth)) {
              if (low >= 0xdc00 && low <= 0xdfff)
                add(utf8Bytes(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)), last);
            }
          }
        }
      }
    }
  }

  /** An HTML character reference after the `&`: `#` digits `;`, `#x` hex `;`, or a name `;`. */
  #reference(pos: number, depth: number, add: (bytes: readonly number[], end: number) => void): void {
    for (const [c, next] of this.#char(pos, depth)) {
      if (c === 0x23) {
        for (const [x, afterX] of this.#char(next, depth)) {
          if ((x | 0x20) === 0x78) this.#number(afterX, 16, depth, add);
        }
        this.#number(next, 10, depth, add);
      } else if (((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || (c >= 0x30 && c <= 0x39)) {
        this.#name(pos, depth, add);
        return;
      }
    }
  }

  #number(
    pos: number,
    base: 10 | 16,
    depth: number,
    add: (bytes: readonly number[], end: number) => void,
  ): void {
    let partial: [number, number][] = [[0, pos]];
    for (let digits = 0; digits < MAX_ENTITY_DIGITS && partial.length > 0; digits += 1) {
      const next: [number, number][] = [];
      for (const [value, at] of partial) {
        for (const [c, end] of this.#char(at, depth)) {
          const d = base === 16 ? hexValue(c) : c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
          if (d >= 0) next.push([value * base + d, end]);
          else if (c === 0x3b && digits > 0 && value <= 0x10ffff && (value < 0xd800 || value > 0xdfff)) {
            add(utf8Bytes(value), end);
          }
        }
      }
      partial = next.slice(0, MAX_READINGS);
    }
  }

  #name(pos: number, depth: number, add: (bytes: readonly number[], end: number) => void): void {
    let partial: [string, number][] = [['', pos]];
    for (let length = 0; length <= MAX_ENTITY_NAME && partial.length > 0; length += 1) {
      const next: [string, number][] = [];
      for (const [name, at] of partial) {
        for (const [c, end] of this.#char(at, depth)) {
          const lower = c | 0x20;
          if ((lower >= 0x61 && lower <= 0x7a) || (c >= 0x30 && c <= 0x39)) {
            next.push([name + String.fromCharCode(c >= 0x41 && c <= 0x5a ? lower : c), end]);
          } else if (c === 0x3b) {
            const code = ENTITIES[name];
            if (code !== undefined) add(utf8Bytes(code), end);
          }
        }
      }
      partial = next.slice(0, MAX_READINGS);
    }
  }
}
