/** What replaces a credential found in a response or a child's output. */
export const REDACTION_MARKER = '[REDACTED_BY_AGENTSECRETS]';

/**
 * Values shorter than this are not redacted: a short value (a PIN, `true`, a port) would match unrelated text
 * everywhere. `secrets set` warns about such values.
 */
export const MIN_REDACTABLE_LENGTH = 8;

/** The inner base64 run of `value` embedded at byte offset `k` (mod 3) of a larger blob. */
function base64Run(value: Buffer, k: number, alphabet: 'base64' | 'base64url'): string {
  const padded = Buffer.concat([Buffer.alloc(k), value, Buffer.alloc(2)]).toString(alphabet);
  // Character c carries bits [6c, 6c + 6); it depends only on the value when they lie inside [8k, 8(k + len)).
  return padded.slice(Math.ceil((4 * k) / 3), Math.floor((4 * (k + value.length)) / 3));
}

function percentEveryByte(value: Buffer, upper: boolean): string {
  let out = '';
  for (const b of value) {
    const h = b.toString(16).padStart(2, '0');
    out += `%${upper ? h.toUpperCase() : h}`;
  }
  return out;
}

/**
 * Every form in which `value` can appear in a response, deduplicated, none shorter than
 * {@link MIN_REDACTABLE_LENGTH}: raw; base64 in the standard and url alphabets, whole (padded and not) and as the
 * inner run at each of the three byte alignments inside a larger blob; url-encoded (encodeURIComponent, lowercase
 * escapes, `+` for space, every byte escaped upper and lower case); JSON-escaped (plain and with `\/`); hex lower
 * and upper case.
 */
export function encodedForms(value: Uint8Array): Buffer[] {
  const bytes = Buffer.from(value);
  const texts: string[] = [];
  for (const alphabet of ['base64', 'base64url'] as const) {
    const whole = bytes.toString(alphabet);
    texts.push(whole, whole.replace(/=+$/, ''));
    for (let k = 0; k < 3; k += 1) texts.push(base64Run(bytes, k, alphabet));
  }
  const text = bytes.toString('utf8');
  const validUtf8 = Buffer.from(text, 'utf8').equals(bytes);
  if (validUtf8) {
    const component = encodeURIComponent(text);
    texts.push(
      component,
      component.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
      component.replace(/%20/g, '+'),
      JSON.stringify(text).slice(1, -1),
      JSON.stringify(text).slice(1, -1).replace(/\//g, '\\/'),
    );
  }
  texts.push(percentEveryByte(bytes, true), percentEveryByte(bytes, false));
  texts.push(bytes.toString('hex'), bytes.toString('hex').toUpperCase());
  const forms = [bytes];
  const seen = new Set<string>([bytes.toString('latin1')]);
  for (const t of texts) {
    const form = Buffer.from(t, 'utf8');
    const key = form.toString('latin1');
    if (form.length < MIN_REDACTABLE_LENGTH || seen.has(key)) continue;
    seen.add(key);
    forms.push(form);
  }
  return forms;
}
