/** What replaces a credential found in a response or a child's output. */
export const REDACTION_MARKER = '[REDACTED_BY_AGENTSECRETS]';

/**
 * Values shorter than this many bytes are not redacted: a short value (a PIN, `true`, a port) would match unrelated
 * text everywhere. `secrets set` warns about such values. The same floor applies to each encoded form.
 */
export const MIN_REDACTABLE_LENGTH = 8;

const HEX_LOWER = '0123456789abcdef';
const HEX_UPPER = '0123456789ABCDEF';

/**
 * The base64 characters of `value` when it sits at byte offset `k` (mod 3) inside a larger blob: only the characters
 * whose six bits all come from the value. Character c carries bits [6c, 6c + 6) of the blob and the value occupies
 * bits [8k, 8(k + len)), so the run is [ceil(4k / 3), floor(4(k + len) / 3)). The one or two characters at each end
 * that mix in neighbouring bytes are left out: they carry at most 4 bits of the value.
 */
function base64Run(value: Buffer, k: number, alphabet: 'base64' | 'base64url'): string {
  const padded = Buffer.concat([Buffer.alloc(k), value, Buffer.alloc(2)]).toString(alphabet);
  return padded.slice(Math.ceil((4 * k) / 3), Math.floor((4 * (k + value.length)) / 3));
}

/** Bytes left as they are by each percent-encoder (everything else, space included, is escaped). */
const URL_SAFE_SETS: readonly string[] = [
  // encodeURIComponent
  "-_.!~*'()",
  // RFC 3986 unreserved: Python quote(safe=''), Go url.QueryEscape, most HTTP clients
  '-_.~',
  // WHATWG application/x-www-form-urlencoded: URLSearchParams, HTML forms, Java URLEncoder
  '*-._',
];

function isAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

function percentEncode(value: Buffer, safe: string | null, plusForSpace: boolean, upper: boolean): string {
  const hex = upper ? HEX_UPPER : HEX_LOWER;
  let out = '';
  for (const b of value) {
    if (safe !== null && (isAlnum(b) || (b < 0x80 && safe.includes(String.fromCharCode(b))))) {
      out += String.fromCharCode(b);
    } else if (safe !== null && plusForSpace && b === 0x20) {
      out += '+';
    } else {
      out += `%${hex[b >> 4]}${hex[b & 15]}`;
    }
  }
  return out;
}

interface JsonStyle {
  /** `/` as `\/` (PHP's default). */
  readonly slash: boolean;
  /** Every character above U+007F as `\uXXXX` (Python's default `ensure_ascii`, PHP's default). */
  readonly ascii: boolean;
  /** `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX` (Go's encoding/json default). */
  readonly html: boolean;
  /** Upper-case hex digits in `\uXXXX`. */
  readonly upper: boolean;
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  34: '\\"',
  92: '\\\\',
  8: '\\b',
  12: '\\f',
  10: '\\n',
  13: '\\r',
  9: '\\t',
};

/**
 * The inside of a JSON string literal for `text` (valid UTF-16, as decoded from valid UTF-8); with no option set this
 * is `JSON.stringify(text)` unquoted.
 */
function jsonEscape(text: string, style: JsonStyle): string {
  const hex = style.upper ? HEX_UPPER : HEX_LOWER;
  const u = (code: number) =>
    `\\u${hex[(code >> 12) & 15]}${hex[(code >> 8) & 15]}${hex[(code >> 4) & 15]}${hex[code & 15]}`;
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const short = SHORT_ESCAPES[code];
    if (short !== undefined) out += short;
    else if (code < 0x20) out += u(code);
    else if (code === 0x2f && style.slash) out += '\\/';
    else if (
      style.html &&
      (code === 0x3c || code === 0x3e || code === 0x26 || code === 0x2028 || code === 0x2029)
    )
      out += u(code);
    else if (style.ascii && code > 0x7f) out += u(code);
    else out += text[i];
  }
  return out;
}

const JSON_STYLES: readonly JsonStyle[] = [
  { slash: false, ascii: false, html: false, upper: false }, // JSON.stringify, serde_json, Jackson
  { slash: true, ascii: false, html: false, upper: false },
  { slash: false, ascii: true, html: false, upper: false }, // Python json.dumps
  { slash: false, ascii: true, html: false, upper: true },
  { slash: true, ascii: true, html: false, upper: false }, // PHP json_encode
  { slash: false, ascii: false, html: true, upper: false }, // Go encoding/json
];

/**
 * Every form in which `value` can appear in a response, deduplicated, raw first. A form is kept only when it is at
 * least {@link MIN_REDACTABLE_LENGTH} bytes long; for a value of 8 bytes or more every form below is (the shortest,
 * a base64 inner run, is 10 characters), so the floor only matters for values the redactor already skips.
 *
 * - raw bytes;
 * - base64, standard (`+/`) and url (`-_`) alphabets: the value's own encoding with and without `=` padding, and
 *   the inner run at each of the three byte alignments inside a larger blob (see the note on alignment below);
 * - percent-encoded (computed on the UTF-8 bytes, so any value works): the encodeURIComponent, RFC 3986 and
 *   WHATWG-form safe sets, each with `%20` and with `+` for space, each with upper- and lower-case hex; and every
 *   byte escaped, upper and lower case;
 * - JSON-escaped (for values that are valid UTF-8): the inside of `JSON.stringify(value)`, and the variants with
 *   `\/`, with every non-ASCII character as `\uxxxx` (lower and upper hex), with both (PHP), and with `<>&` as
 *   `\u003c…` (Go). Escaping every character as `\uXXXX` is not covered: no common serializer does it;
 * - hex, lower and upper case.
 *
 * Alignment: a value at byte offset k (mod 3) of a larger base64 blob encodes to a different character sequence for
 * each k, and the first and last character may mix in neighbouring bytes; the form is the run in between, so after
 * redaction at most the 2–4 bits of the value in those boundary characters remain. Base64 wrapped across lines
 * (MIME) is not matched.
 *
 * @example
 * ```ts
 * encodedForms(Buffer.from('sk_live_abc123')).length; // raw, base64 runs, percent-every-byte, hex, …
 * ```
 */
export function encodedForms(value: Uint8Array): Buffer[] {
  const bytes = Buffer.from(value);
  const texts: string[] = [];
  for (const alphabet of ['base64', 'base64url'] as const) {
    const whole = bytes.toString(alphabet);
    texts.push(whole, whole.replace(/=+$/, ''));
    for (let k = 0; k < 3; k += 1) texts.push(base64Run(bytes, k, alphabet));
  }
  for (const safe of URL_SAFE_SETS) {
    for (const plus of [false, true]) {
      for (const upper of [true, false]) texts.push(percentEncode(bytes, safe, plus, upper));
    }
  }
  texts.push(percentEncode(bytes, null, false, true), percentEncode(bytes, null, false, false));
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) {
    for (const style of JSON_STYLES) texts.push(jsonEscape(text, style));
  }
  texts.push(bytes.toString('hex'), bytes.toString('hex').toUpperCase());

  const forms: Buffer[] = [];
  const seen = new Set<string>();
  for (const form of [bytes, ...texts.map((t) => Buffer.from(t, 'utf8'))]) {
    const key = form.toString('latin1');
    if (form.length < MIN_REDACTABLE_LENGTH || seen.has(key)) continue;
    seen.add(key);
    forms.push(form);
  }
  return forms;
}
