/**
 * A reference for what "a secret can be read back from this text" means, written plainly and independently of the
 * redactor: standard encoders (to make echoes in tests) and decoders that undo them (to search outputs).
 *
 * Texts are handled as latin1 strings, one character per byte, so URL and base64 layers see bytes and JSON and
 * HTML layers turn the characters they decode into UTF-8 bytes.
 */

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
const bytesOf = (text: string) => Buffer.from(text, 'latin1');
const utf8Of = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
/** The UTF-8 text a latin1 string's bytes hold, or undefined when they are not UTF-8. */
function textOf(bytes: string): string | undefined {
  const text = Buffer.from(bytes, 'latin1').toString('utf8');
  return utf8Of(text) === bytes ? text : undefined;
}

/** One way to write a value down: latin1 in, latin1 out; `undefined` when it does not apply (not UTF-8 text). */
export interface Encoding {
  readonly name: string;
  /** The same value gives the same text (a pattern can be precomputed): every encoder here but the random ones. */
  readonly deterministic: boolean;
  encode(value: string, random?: () => number): string | undefined;
}

const hex2 = (b: number, upper = true) =>
  b.toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']();
const u4 = (code: number) => `\\u${code.toString(16).padStart(4, '0')}`;

function percentEncode(value: string, keep: RegExp, plus: boolean): string {
  let out = '';
  for (const c of value) {
    if (keep.test(c)) out += c;
    else if (plus && c === ' ') out += '+';
    else out += `%${hex2(c.charCodeAt(0))}`;
  }
  return out;
}

function onText(encode: (text: string) => string): (value: string) => string | undefined {
  return (value) => {
    const text = textOf(value);
    return text === undefined ? undefined : utf8Of(encode(text));
  };
}

const json = (t: string) => JSON.stringify(t).slice(1, -1);

/** Standard escapings, as libraries write them, plus "any character" variants that escape a random subset. */
export const ENCODINGS: readonly Encoding[] = [
  { name: 'json', deterministic: true, encode: onText(json) },
  { name: 'json-php', deterministic: true, encode: onText((t) => json(t).replaceAll('/', '\\/')) },
  {
    name: 'json-ascii',
    deterministic: true,
    encode: onText((t) =>
      json(t).replace(/[^\p{ASCII}]/gu, (c) =>
        [...Array(c.length).keys()].map((i) => u4(c.charCodeAt(i))).join(''),
      ),
    ),
  },
  {
    name: 'json-u-all',
    deterministic: true,
    encode: onText((t) => Array.from({ length: t.length }, (_, i) => u4(t.charCodeAt(i))).join('')),
  },
  {
    name: 'json-u-any',
    deterministic: false,
    encode: (value, random = Math.random) =>
      onText((t) =>
        Array.from({ length: t.length }, (_, i) =>
          random() < 0.5 ? u4(t.charCodeAt(i)).toUpperCase().replace('\\U', '\\u') : json(t[i]!),
        ).join(''),
      )(value),
  },
  { name: 'url', deterministic: true, encode: (v) => percentEncode(v, /[A-Za-z0-9\-_.!~*'()]/, false) },
  { name: 'url-rfc3986', deterministic: true, encode: (v) => percentEncode(v, /[A-Za-z0-9\-_.~]/, false) },
  { name: 'form', deterministic: true, encode: (v) => percentEncode(v, /[A-Za-z0-9*\-._]/, true) },
  {
    name: 'url-any',
    deterministic: false,
    encode: (v, random = Math.random) =>
      [...v]
        .map((c) =>
          /[A-Za-z0-9]/.test(c) && random() < 0.5 ? c : `%${hex2(c.charCodeAt(0), random() < 0.5)}`,
        )
        .join(''),
  },
  {
    name: 'html',
    deterministic: true,
    encode: onText((t) =>
      t.replace(
        /[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
      ),
    ),
  },
  {
    name: 'html-any',
    deterministic: false,
    encode: (value, random = Math.random) =>
      onText((t) =>
        [...t]
          .map((c) => {
            const r = random();
            if (r < 0.3 && !/[&<>"']/.test(c)) return c;
            const code = c.codePointAt(0)!;
            return r < 0.65 ? `&#${code};` : `&#x${code.toString(16)};`;
          })
          .join(''),
      )(value),
  },
  { name: 'b64', deterministic: true, encode: (v) => bytesOf(v).toString('base64') },
  { name: 'b64url', deterministic: true, encode: (v) => bytesOf(v).toString('base64url') },
  {
    name: 'b64-mime',
    deterministic: true,
    encode: (v) =>
      bytesOf(v)
        .toString('base64')
        .replace(/.{76}(?=.)/g, '$&\r\n'),
  },
];

/** An upper-cased echo, ASCII letters only (only as the outermost step: inside base64 it is no escaping). */
export const upper = (text: string) => text.replace(/[a-z]+/g, (w) => w.toUpperCase());
/** ASCII letters in lower case (other characters as they are). */
const lower = (text: string) => text.replace(/[A-Z]+/g, (w) => w.toLowerCase());

const NAMED: Readonly<Record<string, number>> = { amp: 38, lt: 60, gt: 62, quot: 34, apos: 39 };

/** Decoders that undo the encodings: each gives the variants of a text it can read (empty when it changes nothing). */
const DECODERS: Readonly<Record<string, (text: string) => string[]>> = {
  // Left to right, so that `\\u0041` is a backslash and `u0041`. Letters in either case (an upper-cased echo).
  json: (text) => {
    const out = text.replace(
      /\\(?:[uU]([dD][89abAB][0-9a-fA-F]{2})\\[uU]([dD][c-fC-F][0-9a-fA-F]{2})|[uU]([0-9a-fA-F]{4})|(["\\/bfnrtBFNRT]))/g,
      (_, hi?: string, lo?: string, unit?: string, short?: string) => {
        if (hi !== undefined && lo !== undefined) {
          return utf8Of(String.fromCharCode(Number.parseInt(hi, 16), Number.parseInt(lo, 16)));
        }
        if (unit !== undefined) return utf8Of(String.fromCharCode(Number.parseInt(unit, 16)));
        const c = short!.toLowerCase();
        return ({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[c] ?? c;
      },
    );
    return out === text ? [] : [out];
  },
  url: (text) => {
    const decode = (t: string) =>
      t.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
    // Form decoding turns `+` into a space before the escapes are undone (`%2B` is a `+`).
    return [...new Set([decode(text), decode(text.replaceAll('+', ' '))])].filter((v) => v !== text);
  },
  html: (text) => {
    const out = text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);/g, (whole, ref: string) => {
      const code =
        ref[0] !== '#'
          ? NAMED[ref.toLowerCase()]
          : ref[1] === 'x' || ref[1] === 'X'
            ? Number.parseInt(ref.slice(2), 16)
            : Number.parseInt(ref.slice(1), 10);
      return code === undefined || code > 0x10ffff ? whole : utf8Of(String.fromCodePoint(code));
    });
    return out === text ? [] : [out];
  },
  b64: (text) => {
    const runs = /[A-Za-z0-9+/\-_=]+(?:\r?\n[A-Za-z0-9+/\-_=]+)*/g;
    if (!/[A-Za-z0-9+/\-_]{8}/.test(text)) return [];
    const out: string[] = [];
    for (let k = 0; k < 4; k += 1) {
      out.push(
        text.replace(runs, (run) => {
          const chars = run.replace(/\r?\n/g, '');
          return chars.length < 12 ? run : ` ${latin1(Buffer.from(chars.slice(k), 'base64'))} `;
        }),
      );
    }
    return out;
  },
  hex: (text) => {
    if (!/[0-9a-fA-F]{16}/.test(text)) return [];
    return [0, 1].map((k) =>
      text.replace(/[0-9a-fA-F]{16,}/g, (run) => ` ${latin1(Buffer.from(run.slice(k), 'hex'))} `),
    );
  },
};

/** Depth of the reference search: compositions of up to this many decodings. */
const DEPTH = 3;

/**
 * The chains of decodings (e.g. `json>url`, `b64`, `raw`) after which `text` holds `value`, letters in either case.
 * Empty when no composition of up to three decodings reads it back.
 */
export function readBack(text: string | Uint8Array, value: string | Uint8Array): string[] {
  const start = typeof text === 'string' ? utf8Of(text) : latin1(text);
  const needle = lower(typeof value === 'string' ? utf8Of(value) : latin1(value));
  const found: string[] = [];
  const seen = new Set<string>([start]);
  let layer: [string, string][] = [['raw', start]];
  for (let depth = 0; depth <= DEPTH && layer.length > 0; depth += 1) {
    const next: [string, string][] = [];
    for (const [chain, variant] of layer) {
      if (lower(variant).includes(needle)) {
        found.push(chain);
        continue;
      }
      if (depth === DEPTH) continue;
      for (const [name, decode] of Object.entries(DECODERS)) {
        for (const decoded of decode(variant)) {
          if (seen.has(decoded)) continue;
          seen.add(decoded);
          next.push([chain === 'raw' ? name : `${chain}>${name}`, decoded]);
        }
      }
    }
    layer = next;
  }
  return found;
}
