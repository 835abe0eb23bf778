/** What replaces a credential found in a response or a child's output. */
export const REDACTION_MARKER = '[REDACTED_BY_AGENTSECRETS]';

/**
 * Values shorter than this many bytes are not redacted: a short value (a PIN, `true`, a port) would match unrelated
 * text everywhere. `secrets set` warns about such values. The same floor applies to each pattern.
 */
export const MIN_REDACTABLE_LENGTH = 8;

/**
 * Inner encodings longer than this many times the value (plus a little) are not turned into base64 patterns: it
 * bounds the automaton's size, and leaves out only chains such as `\u`-every-character twice.
 */
const MAX_INNER_GROWTH = 40;

const HEX_UPPER = '0123456789ABCDEF';

/** Whether `byte` is a base64 character of either alphabet, or its padding. */
export function isBase64Byte(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2b ||
    byte === 0x2f ||
    byte === 0x3d ||
    byte === 0x2d ||
    byte === 0x5f
  );
}

/** How many base64 characters must stand before a line break for a match to run across it. */
const WRAPPED_RUN = 16;
/** How many bytes before a line break {@link isBarrier} reads: the run and a carriage return. */
export const BARRIER_CONTEXT = WRAPPED_RUN + 1;

/**
 * Whether the line feed at `at` ends a line that no match may run across. Matches skip a single line break inside
 * base64 wrapped into lines (MIME wraps at 76 columns, PEM at 64): one with at least 16 base64 characters right
 * before it (a carriage return aside) and one right after it. Every other line break is a barrier, a blank line
 * always. `undefined` when the answer needs the byte after the data. The rule reads only the bytes around the
 * break, never a secret: a stream lets go of everything up to a barrier as soon as it has it.
 */
export function isBarrier(data: Uint8Array, at: number): boolean | undefined {
  let before = at - 1;
  if (before >= 0 && data[before] === 0x0d) before -= 1;
  if (before + 1 < WRAPPED_RUN) return true;
  for (let i = before; i > before - WRAPPED_RUN; i -= 1) if (!isBase64Byte(data[i]!)) return true;
  if (at + 1 >= data.length) return undefined;
  return !isBase64Byte(data[at + 1]!);
}

/**
 * How the scanner reads each byte: ASCII letters in lower case (an upper-cased echo still matches), and the
 * url-safe base64 characters `-` and `_` as `+` and `/` (one pattern covers both alphabets). Patterns are written
 * in these canonical bytes; the few texts this makes match that would not otherwise are redacted too.
 */
export const CANON: Uint8Array = Uint8Array.from({ length: 256 }, (_, b) =>
  b >= 0x41 && b <= 0x5a ? b + 0x20 : b === 0x2d ? 0x2b : b === 0x5f ? 0x2f : b,
);

function canonical(bytes: Buffer): Buffer {
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = CANON[bytes[i]!]!;
  return bytes;
}

/**
 * The value as it reads in text: whole, with its line breaks and carriage returns left out (the scanner skips
 * them inside escapes and wrapped base64), and, when it has barrier line breaks (see {@link isBarrier}), its pieces
 * between them: where the value stands as it is, no match runs across such a break, so each piece long enough is
 * found on its own (a line shorter than the floor is not).
 */
function pieces(value: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const joined: number[] = [];
  let current: number[] = [];
  for (let i = 0; i < value.length; i += 1) {
    const b = value[i]!;
    if (b === 0x0a && isBarrier(value, i) !== false) {
      out.push(Buffer.from(current));
      current = [];
    } else if (b !== 0x0a && b !== 0x0d) {
      current.push(b);
    }
    if (b !== 0x0a && b !== 0x0d) joined.push(b);
  }
  out.push(Buffer.from(current));
  const whole = Buffer.from(joined);
  return out.length === 1 ? [whole] : [whole, ...out];
}

/**
 * The base64 characters of `inner` when it sits at byte offset `k` (mod 3) inside a larger blob: only the characters
 * whose six bits all come from it. Character c carries bits [6c, 6c + 6) of the blob and the value occupies bits
 * [8k, 8(k + len)), so the run is [ceil(4k / 3), floor(4(k + len) / 3)). The one or two characters at each end that
 * mix in neighbouring bytes are left out: they carry at most 4 bits of the value. The run at k = 0 is a prefix of
 * the value's own encoding, padded or not, so that needs no pattern of its own.
 */
function base64Run(inner: Buffer, k: number): Buffer {
  const padded = Buffer.concat([Buffer.alloc(k), inner, Buffer.alloc(2)]).toString('base64');
  return Buffer.from(
    padded.slice(Math.ceil((4 * k) / 3), Math.floor((4 * (k + inner.length)) / 3)),
    'latin1',
  );
}

function isAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/** Percent-encoding of the bytes, leaving alphanumerics and `safe` as they are (upper-case hex, as encoders do). */
function percent(safe: string, plusForSpace: boolean): (value: Buffer) => Buffer {
  return (value) => {
    let out = '';
    for (const b of value) {
      if (isAlnum(b) || (b < 0x80 && safe.includes(String.fromCharCode(b)))) out += String.fromCharCode(b);
      else if (plusForSpace && b === 0x20) out += '+';
      else out += `%${HEX_UPPER[b >> 4]}${HEX_UPPER[b & 15]}`;
    }
    return Buffer.from(out, 'latin1');
  };
}

/** The text of `value`, or undefined when it is not valid UTF-8 (text encoders do not apply). */
function utf8(value: Buffer): string | undefined {
  const text = value.toString('utf8');
  return Buffer.from(text, 'utf8').equals(value) ? text : undefined;
}

const u = (code: number) => `\\u${code.toString(16).padStart(4, '0')}`;

function textEncoder(encode: (text: string) => string): (value: Buffer) => Buffer | undefined {
  return (value) => {
    const text = utf8(value);
    return text === undefined ? undefined : Buffer.from(encode(text), 'utf8');
  };
}

const jsonString = (text: string) => JSON.stringify(text).slice(1, -1);

/** HTML escaping of `& < > " '`, with the references a library writes for the quotes. */
function html(quote: string, apostrophe: string): (value: Buffer) => Buffer | undefined {
  const refs: Readonly<Record<string, string>> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': quote,
    "'": apostrophe,
  };
  return textEncoder((t) => t.replace(/[&<>"']/g, (c) => refs[c]!));
}

/**
 * Deterministic encoders, as common libraries write them. The scanner reads JSON, URL/form and HTML escapes of any
 * character itself (see decode.ts), so these matter only inside base64, which it cannot read without a pattern:
 * a pattern is the base64 of the value after up to two of these.
 */
const ENCODERS: readonly ((value: Buffer) => Buffer | undefined)[] = [
  textEncoder(jsonString), // JSON.stringify, serde_json, Go (for these characters), Jackson
  textEncoder((t) => jsonString(t).replaceAll('/', '\\/')), // PHP json_encode
  textEncoder((t) =>
    jsonString(t).replace(/[^\p{ASCII}]/gu, (c) =>
      [...Array(c.length).keys()].map((i) => u(c.charCodeAt(i))).join(''),
    ),
  ), // Python json.dumps
  textEncoder((t) => Array.from({ length: t.length }, (_, i) => u(t.charCodeAt(i))).join('')), // every character \u
  percent("-_.!~*'()", false), // encodeURIComponent
  percent('-_.~', false), // RFC 3986: Python quote(safe=''), Go url.QueryEscape's set
  percent('*-._', true), // WHATWG form: URLSearchParams, HTML forms, Java URLEncoder
  html('&quot;', '&#39;'), // lodash, he, Rails
  html('&quot;', '&#x27;'), // Python html.escape
  html('&#34;', '&#39;'), // Go html.EscapeString
  html('&quot;', '&#039;'), // PHP htmlspecialchars
  (value) => Buffer.from(value.toString('base64'), 'latin1'),
  (value) => Buffer.from(value.toString('base64url'), 'latin1'),
  (value) => Buffer.from(value.toString('base64').replace(/.{76}(?=.)/g, '$&\r\n'), 'latin1'), // MIME
  (value) => Buffer.from(value.toString('base64').replace(/.{64}(?=.)/g, '$&\n'), 'latin1'), // PEM
];

/** The value after each chain of up to two encoders, distinct. */
function innerForms(value: Buffer): Buffer[] {
  const limit = MAX_INNER_GROWTH * value.length + 32;
  const out = new Map<string, Buffer>([[value.toString('latin1'), value]]);
  let layer = [value];
  for (let depth = 0; depth < 2; depth += 1) {
    const next: Buffer[] = [];
    for (const inner of layer) {
      for (const encode of ENCODERS) {
        const encoded = encode(inner);
        if (encoded === undefined || encoded.length > limit) continue;
        const key = encoded.toString('latin1');
        if (out.has(key)) continue;
        out.set(key, encoded);
        next.push(encoded);
      }
    }
    layer = next;
  }
  return [...out.values()];
}

/**
 * The patterns the scanner looks for to find `value`, lower case, deduplicated. The scanner itself undoes JSON,
 * URL/form and HTML escapes of any character, nested up to three deep, skips line breaks inside base64 and reads
 * letters in either case; so the patterns are only what it cannot undo:
 *
 * - the value itself, split at barrier line breaks (see {@link isBarrier}), each piece a pattern;
 * - base64 (either alphabet: the scanner reads `-_` as `+/`) at each of the three byte alignments inside a larger
 *   blob (see {@link base64Run}), and hex, of the value and of the value after up to two deterministic encoders
 *   (JSON, URL, form, HTML, `\u`-every-character, base64 itself, wrapped or not), so any composition of three
 *   escapings is found wherever base64 (or hex) stands in it.
 *
 * Patterns shorter than {@link MIN_REDACTABLE_LENGTH} are left out.
 */
export function redactionPatterns(value: Uint8Array): Buffer[] {
  const bytes = Buffer.from(value);
  const candidates: Buffer[] = pieces(bytes);
  for (const inner of innerForms(bytes)) {
    candidates.push(Buffer.from(inner.toString('hex'), 'latin1'));
    for (let k = 0; k < 3; k += 1) candidates.push(base64Run(inner, k));
  }
  const patterns: Buffer[] = [];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    const pattern = canonical(candidate);
    const key = pattern.toString('latin1');
    if (pattern.length < MIN_REDACTABLE_LENGTH || seen.has(key)) continue;
    seen.add(key);
    patterns.push(pattern);
  }
  return patterns;
}
