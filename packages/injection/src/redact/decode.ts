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
/** The longest plain (one level) escape: `&#x` and twelve digits and `;`. */
const MAX_PLAIN = 16;
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

/** Four hex digits at `at` as a number, or -1. */
function hex4(data: Uint8Array, at: number): number {
  if (at + 4 > data.length) return -1;
  let value = 0;
  for (let i = at; i < at + 4; i += 1) {
    const h = hexValue(data[i]!);
    if (h < 0) return -1;
    value = (value << 4) | h;
  }
  return value;
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

const NONE: readonly number[] = [];

/** Adds a reading unless it is there already (or there are enough). */
function add(out: Reading[], bytes: readonly number[], end: number): void {
  if (out.length >= MAX_READINGS) return;
  for (const r of out) {
    if (r.end === end && r.bytes.length === bytes.length && r.bytes.every((b, i) => b === bytes[i])) return;
  }
  out.push({ bytes, end });
}

/**
 * The escape readings of one piece of text, memoised per position and depth. Create one per scan; it throws
 * {@link NEED_MORE} when the data ends inside a possible escape and the data is not `final`.
 */
export class EscapeReader {
  readonly #data: Uint8Array;
  readonly #final: boolean;
  /** Made on first use, as is `#escapes`: most scans read no escape at all. */
  #chars: Map<number, readonly number[]> | undefined;
  /** The one-element answer of {@link #char} for a byte that begins no escape. */
  readonly #literal: number[] = [0];
  #escapes: Map<number, readonly Reading[]> | undefined;

  constructor(data: Uint8Array, final: boolean) {
    this.#data = data;
    this.#final = final;
  }

  /** Every reading of the text at `pos` that undoes at least one escape (the plain byte is not among them). */
  escapesAt(pos: number): readonly Reading[] {
    const data = this.#data;
    if (data[pos] === 0x2b) return [{ bytes: [0x20], end: pos + 1 }]; // nothing else begins with a `+`
    // The common case, read directly: one plain escape (or none) with no escape inside its own characters and none
    // that it stands for. Only then can no deeper reading exist; otherwise read every way, nested.
    const single = this.#plain(pos);
    const end = single === undefined ? Math.min(data.length, pos + MAX_PLAIN) : single.end;
    if (single === undefined && end >= data.length && !this.#final) throw NEED_MORE;
    for (let i = pos + 1; i < end; i += 1) if (beginsEscape(data[i]!)) return this.#escapesAt(pos, MAX_DEPTH);
    if (single === undefined) return [];
    return beginsEscape(single.bytes[0]!) ? this.#escapesAt(pos, MAX_DEPTH) : [single];
  }

  /** The escape at `pos` read one level deep from its plain bytes, if there is one. */
  #plain(pos: number): Reading | undefined {
    const data = this.#data;
    const at = (i: number) => (i < data.length ? data[i]! : -1);
    const byte = data[pos]!;
    if (byte === 0x25) {
      const high = hexValue(at(pos + 1));
      const low = hexValue(at(pos + 2));
      return high >= 0 && low >= 0 ? { bytes: [(high << 4) | low], end: pos + 3 } : undefined;
    }
    if (byte === 0x5c) {
      const c = at(pos + 1);
      const short = SHORT[c] ?? (c >= 0x41 && c <= 0x5a ? SHORT[c | 0x20] : undefined);
      if (short !== undefined) return { bytes: [short], end: pos + 2 };
      if ((c | 0x20) !== 0x75) return undefined;
      const unit = hex4(data, pos + 2);
      if (unit < 0 || (unit >= 0xdc00 && unit <= 0xdfff)) return undefined;
      if (unit < 0xd800 || unit > 0xdbff) return { bytes: utf8Bytes(unit), end: pos + 6 };
      if (at(pos + 6) !== 0x5c || (at(pos + 7) | 0x20) !== 0x75) return undefined;
      const low = hex4(data, pos + 8);
      if (low < 0xdc00 || low > 0xdfff) return undefined;
      return { bytes: utf8Bytes(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)), end: pos + 12 };
    }
    if (byte === 0x26) {
      let i = pos + 1;
      let code = -1;
      if (at(i) === 0x23) {
        i += 1;
        const base = (at(i) | 0x20) === 0x78 ? 16 : 10;
        if (base === 16) i += 1;
        let value = 0;
        const first = i;
        for (; i - first < MAX_ENTITY_DIGITS; i += 1) {
          const c = at(i);
          const d = base === 16 ? hexValue(c) : c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
          if (d < 0) break;
          value = value * base + d;
        }
        if (i > first && value <= 0x10ffff && (value < 0xd800 || value > 0xdfff)) code = value;
      } else {
        let name = '';
        for (; name.length <= MAX_ENTITY_NAME && isAlnum(at(i)); i += 1) {
          const c = at(i);
          name += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
        }
        code = ENTITIES[name] ?? -1;
      }
      return code >= 0 && at(i) === 0x3b ? { bytes: utf8Bytes(code), end: i + 1 } : undefined;
    }
    return undefined;
  }

  /**
   * One-byte readings at `pos` up to `depth`, packed as `end * 256 + byte`: the byte itself, and escapes that stand
   * for a single byte. A byte that begins no escape has only itself, handed back in one shared array (callers read
   * its one element before they read on).
   */
  #char(pos: number, depth: number): readonly number[] {
    if (pos >= this.#data.length) {
      if (this.#final) return NONE;
      throw NEED_MORE;
    }
    const byte = this.#data[pos]!;
    if (depth === 0 || !beginsEscape(byte)) {
      this.#literal[0] = (pos + 1) * 256 + byte;
      return this.#literal;
    }
    const key = pos * 4 + depth;
    const known = this.#chars?.get(key);
    if (known !== undefined) return known;
    const out = [(pos + 1) * 256 + byte];
    for (const r of this.#escapesAt(pos, depth))
      if (r.bytes.length === 1) out.push(r.end * 256 + r.bytes[0]!);
    this.#chars ??= new Map();
    this.#chars.set(key, out);
    return out;
  }

  #escapesAt(pos: number, depth: number): readonly Reading[] {
    if (depth === 0) return [];
    const key = pos * 4 + depth;
    const known = this.#escapes?.get(key);
    if (known !== undefined) return known;
    const out: Reading[] = [];
    const inner = depth - 1;
    for (const packed of this.#char(pos, inner)) {
      const c = packed & 255;
      const next = Math.floor(packed / 256);
      if (c === 0x2b) add(out, [0x20], next);
      else if (c === 0x25) this.#percent(next, inner, out);
      else if (c === 0x5c) this.#backslash(next, inner, out);
      else if (c === 0x26) this.#reference(next, inner, out);
    }
    this.#escapes ??= new Map();
    this.#escapes.set(key, out);
    return out;
  }

  /** `%XX` after the `%`. */
  #percent(pos: number, depth: number, out: Reading[]): void {
    for (const [high, end] of this.#digits(pos, 2, 16, depth)) add(out, [high], end);
  }

  /**
   * `n` digits in `base` from `pos` (each possibly escaped): each value with where it ends, packed as
   * `[value, end]` pairs. With `n` 0, as many as there are up to {@link MAX_ENTITY_DIGITS}, each prefix reported.
   */
  #digits(pos: number, n: number, base: 10 | 16, depth: number): [value: number, end: number][] {
    let partial: [number, number][] = [[0, pos]];
    const done: [number, number][] = [];
    const limit = n === 0 ? MAX_ENTITY_DIGITS : n;
    for (let i = 0; i < limit && partial.length > 0; i += 1) {
      const next: [number, number][] = [];
      for (const [value, at] of partial) {
        for (const packed of this.#char(at, depth)) {
          const c = packed & 255;
          const d = base === 16 ? hexValue(c) : c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
          if (d >= 0 && next.length < MAX_READINGS) next.push([value * base + d, Math.floor(packed / 256)]);
        }
      }
      partial = next;
      if (n === 0) done.push(...next);
    }
    return n === 0 ? done : partial;
  }

  /** A JSON escape after the `\`: a short escape, or `\uXXXX` (with its low surrogate when it is a high one). */
  #backslash(pos: number, depth: number, out: Reading[]): void {
    for (const packed of this.#char(pos, depth)) {
      const c = packed & 255;
      const next = Math.floor(packed / 256);
      const short = SHORT[c] ?? (c >= 0x41 && c <= 0x5a ? SHORT[c | 0x20] : undefined);
      if (short !== undefined) {
        add(out, [short], next);
        continue;
      }
      if ((c | 0x20) !== 0x75) continue;
      for (const [unit, end] of this.#digits(next, 4, 16, depth)) {
        if (unit < 0xd800 || unit > 0xdfff) {
          add(out, utf8Bytes(unit), end);
          continue;
        }
        if (unit > 0xdbff) continue; // a lone low surrogate stands for no character
        for (const b of this.#char(end, depth)) {
          if ((b & 255) !== 0x5c) continue;
          for (const u of this.#char(Math.floor(b / 256), depth)) {
            if (((u & 255) | 0x20) !== 0x75) continue;
            for (const [low, last] of this.#digits(Math.floor(u / 256), 4, 16, depth)) {
              if (low >= 0xdc00 && low <= 0xdfff) {
                add(out, utf8Bytes(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)), last);
              }
            }
          }
        }
      }
    }
  }

  /** An HTML character reference after the `&`: `#` digits `;`, `#x` hex `;`, or a name `;`. */
  #reference(pos: number, depth: number, out: Reading[]): void {
    for (const packed of this.#char(pos, depth)) {
      const c = packed & 255;
      const next = Math.floor(packed / 256);
      if (c === 0x23) {
        for (const x of this.#char(next, depth)) {
          if (((x & 255) | 0x20) === 0x78) this.#number(Math.floor(x / 256), 16, depth, out);
        }
        this.#number(next, 10, depth, out);
      } else if (isAlnum(c)) {
        this.#name(pos, depth, out);
        return;
      }
    }
  }

  /** Digits and `;`: a numeric character reference. */
  #number(pos: number, base: 10 | 16, depth: number, out: Reading[]): void {
    for (const [value, end] of this.#digits(pos, 0, base, depth)) {
      if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) continue;
      for (const semi of this.#char(end, depth)) {
        if ((semi & 255) === 0x3b) add(out, utf8Bytes(value), Math.floor(semi / 256));
      }
    }
  }

  /** Letters and `;`: a named character reference. */
  #name(pos: number, depth: number, out: Reading[]): void {
    let partial: [string, number][] = [['', pos]];
    for (let length = 0; length <= MAX_ENTITY_NAME && partial.length > 0; length += 1) {
      const next: [string, number][] = [];
      for (const [name, at] of partial) {
        for (const packed of this.#char(at, depth)) {
          const c = packed & 255;
          const end = Math.floor(packed / 256);
          if (isAlnum(c) && next.length < MAX_READINGS) {
            next.push([name + String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c), end]);
          } else if (c === 0x3b) {
            const code = ENTITIES[name];
            if (code !== undefined) add(out, utf8Bytes(code), end);
          }
        }
      }
      partial = next;
    }
  }
}
