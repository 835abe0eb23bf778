/** One way a value can be written down, and its text. */
export interface EncodedForm {
  readonly form: string;
  readonly text: string;
}

function base64Runs(value: Buffer, alphabet: 'base64' | 'base64url'): EncodedForm[] {
  const out: EncodedForm[] = [];
  for (let offset = 0; offset < 3; offset += 1) {
    // The value embedded at byte offset k of a larger blob: drop the characters that depend on the neighbours.
    const padded = Buffer.concat([Buffer.alloc(offset), value, Buffer.alloc(2)]);
    const encoded = padded.toString(alphabet).replace(/=+$/, '');
    // Character c carries bits [6c, 6c + 6); it depends only on the value when they lie inside [8k, 8(k + len)).
    const lead = Math.ceil((offset * 4) / 3);
    const trail = Math.floor(((offset + value.length) * 4) / 3);
    const text = encoded.slice(lead, trail);
    if (text.length >= 6) out.push({ form: `${alphabet}@${offset}`, text });
  }
  return out;
}

function percentAll(value: Buffer, upper: boolean): string {
  const hex = value.toString('hex');
  let out = '';
  for (let i = 0; i < hex.length; i += 2)
    out += `%${upper ? hex.slice(i, i + 2).toUpperCase() : hex.slice(i, i + 2)}`;
  return out;
}

/**
 * Every form a canary might leak in: raw, base64 (std and url alphabets, at all three byte offsets), url-encoded
 * (component, form and every-byte), JSON-escaped and hex. Tests search every output for all of them.
 */
export function leakForms(canary: string): EncodedForm[] {
  const bytes = Buffer.from(canary, 'utf8');
  const forms: EncodedForm[] = [
    { form: 'raw', text: canary },
    ...base64Runs(bytes, 'base64'),
    ...base64Runs(bytes, 'base64url'),
    { form: 'url', text: encodeURIComponent(canary) },
    { form: 'url-form', text: encodeURIComponent(canary).replace(/%20/g, '+') },
    { form: 'url-all-lower', text: percentAll(bytes, false) },
    { form: 'url-all-upper', text: percentAll(bytes, true) },
    { form: 'json', text: JSON.stringify(canary).slice(1, -1) },
    { form: 'hex', text: bytes.toString('hex') },
    { form: 'HEX', text: bytes.toString('hex').toUpperCase() },
  ];
  const seen = new Set<string>();
  return forms.filter((f) => {
    if (seen.has(f.text)) return false;
    seen.add(f.text);
    return true;
  });
}

/** The forms of `canary` found in `haystack` (empty when nothing leaked). */
export function findLeaks(haystack: string | Uint8Array, canary: string): string[] {
  const text = typeof haystack === 'string' ? haystack : Buffer.from(haystack).toString('latin1');
  const utf8 = typeof haystack === 'string' ? haystack : Buffer.from(haystack).toString('utf8');
  return leakForms(canary)
    .filter((f) => text.includes(f.text) || utf8.includes(f.text))
    .map((f) => f.form);
}
