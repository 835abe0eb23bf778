import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodedForms, MIN_REDACTABLE_LENGTH } from './forms.js';

const VALUE = 'sk_live_4f9a"b\\c/d e+f=g\n~!<é>&0123';
const bytes = Buffer.from(VALUE);
const forms = encodedForms(bytes).map((f) => f.toString('utf8'));

describe('encoded forms', () => {
  it('starts with the raw value, and holds no duplicate and nothing shorter than the floor', () => {
    expect(forms[0]).toBe(VALUE);
    expect(new Set(forms).size).toBe(forms.length);
    expect(forms.every((f) => Buffer.byteLength(f) >= MIN_REDACTABLE_LENGTH)).toBe(true);
  });

  it('has the base64 of the value alone, padded and not, in both alphabets', () => {
    for (const alphabet of ['base64', 'base64url'] as const) {
      const whole = bytes.toString(alphabet);
      expect(forms).toContain(whole);
      expect(forms).toContain(whole.replace(/=+$/, ''));
    }
  });

  it('has, for each alignment, a run found in any base64 blob that holds the value there', () => {
    for (let k = 0; k < 3; k += 1) {
      for (let trial = 0; trial < 20; trial += 1) {
        const before = randomBytes(k + 3 * (trial % 4));
        const blob = Buffer.concat([before, bytes, randomBytes(trial % 5)]);
        for (const alphabet of ['base64', 'base64url'] as const) {
          const encoded = blob.toString(alphabet);
          expect(
            forms.some((f) => encoded.includes(f)),
            `offset ${k}, ${alphabet}`,
          ).toBe(true);
        }
      }
    }
  });

  it('has the percent-encodings of the common encoders, both hex cases, and every byte escaped', () => {
    const component = encodeURIComponent(VALUE);
    const form = new URLSearchParams({ v: VALUE }).toString().slice(2);
    const lower = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
    for (const expected of [
      component,
      lower(component),
      component.replace(/%20/g, '+'),
      form,
      lower(form),
      form.replace(/\+/g, '%20'),
      // RFC 3986 unreserved only (Python quote(safe=''), Go QueryEscape with + for space)
      component.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
      [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''),
      [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
    ]) {
      expect(forms).toContain(expected);
    }
  });

  it('has the JSON escapings of the common serializers', () => {
    const plain = JSON.stringify(VALUE).slice(1, -1);
    expect(plain).toContain('\\"');
    expect(plain).toContain('\\\\');
    expect(plain).toContain('\\n');
    const ascii = plain.replace(
      /[\u0080-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    for (const expected of [
      plain, // JavaScript, serde_json
      plain.replace(/\//g, '\\/'),
      ascii, // Python json.dumps
      ascii.replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\u${h.toUpperCase()}`),
      ascii.replace(/\//g, '\\/'), // PHP json_encode
      plain.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026'), // Go encoding/json
    ]) {
      expect(forms).toContain(expected);
    }
  });

  it('has hex in both cases', () => {
    expect(forms).toContain(bytes.toString('hex'));
    expect(forms).toContain(bytes.toString('hex').toUpperCase());
  });

  it('gives a plain token few forms (every url and JSON form is the raw value) and skips JSON for non-UTF-8', () => {
    const token = encodedForms(Buffer.from('sk_live_abcdefghijklmnop')).map(String);
    expect(token.filter((f) => f.includes('sk_live'))).toEqual(['sk_live_abcdefghijklmnop']);
    const binary = encodedForms(Buffer.from([0xff, 0xfe, 0x00, 0x22, 0x5c, 0x41, 0x42, 0x43, 0x44]));
    expect(binary.some((f) => f.includes('\\"'))).toBe(false);
    expect(binary.map((f) => f.toString())).toContain('%FF%FE%00%22%5CABCD');
  });
});
