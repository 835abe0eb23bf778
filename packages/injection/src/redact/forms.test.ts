import { describe, expect, it } from 'vitest';
import { CANON, isBarrier, MIN_REDACTABLE_LENGTH, redactionPatterns } from './forms.js';

const canonical = (text: string) => Buffer.from([...Buffer.from(text, 'utf8')].map((b) => CANON[b]!));
const has = (patterns: Buffer[], text: string) => patterns.some((p) => p.equals(canonical(text)));

describe('redaction patterns', () => {
  const VALUE = 'Sk_Live_4f9a"b\\c/d e+f=g0123';

  it('start with the value in canonical bytes, and hold no duplicate and nothing shorter than the floor', () => {
    const patterns = redactionPatterns(Buffer.from(VALUE));
    expect(patterns[0]!.equals(canonical(VALUE))).toBe(true);
    expect(patterns[0]!.toString()).toBe('sk/live/4f9a"b\\c/d e+f=g0123');
    const keys = patterns.map((p) => p.toString('latin1'));
    expect(new Set(keys).size).toBe(keys.length);
    for (const p of patterns) {
      expect(p.length).toBeGreaterThanOrEqual(MIN_REDACTABLE_LENGTH);
      for (const b of p) expect(CANON[b]).toBe(b);
    }
  });

  it('have hex, and the base64 run of each alignment, of the value and of its encodings', () => {
    const value = Buffer.from(VALUE);
    const patterns = redactionPatterns(value);
    expect(has(patterns, value.toString('hex'))).toBe(true);
    const inners = [
      value,
      Buffer.from(JSON.stringify(VALUE).slice(1, -1)),
      Buffer.from(encodeURIComponent(VALUE)),
      Buffer.from(value.toString('base64')),
      Buffer.from(JSON.stringify(encodeURIComponent(VALUE)).slice(1, -1)),
    ];
    for (const inner of inners) {
      for (let k = 0; k < 3; k += 1) {
        const blob = Buffer.concat([Buffer.alloc(k, 0xff), inner, Buffer.alloc(2, 0xff)]).toString('base64');
        const run = blob.slice(Math.ceil((4 * k) / 3), Math.floor((4 * (k + inner.length)) / 3));
        expect(has(patterns, run), `${inner.toString().slice(0, 20)} at ${k}`).toBe(true);
      }
    }
  });

  it('split a value at the line breaks no match may span, and leave out the others', () => {
    const pem =
      '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\nBKcwggSjAgEAAoIBAQC7\n-----END KEY-----\n';
    const patterns = redactionPatterns(Buffer.from(pem));
    expect(patterns[0]!.toString()).toBe(canonical(pem.replace(/\r?\n/g, '')).toString());
    const json = '{\n  "private_key": "abcdefgh",\n  "client_email": "x@example.iam"\n}';
    const pieces = redactionPatterns(Buffer.from(json)).map((p) => p.toString());
    expect(pieces).toContain('  "private/key": "abcdefgh",');
    expect(pieces).toContain('  "client/email": "x@example.iam"');
  });

  it('judge a line break by the bytes beside it', () => {
    const b = (text: string, at = text.indexOf('\n')) => isBarrier(Buffer.from(text), at);
    const run = 'TWFueSBoYW5kcyBtYWtl'; // 20 base64 characters, as in a wrapped blob
    expect(b(`${run}\nd29yay4=`)).toBe(false);
    expect(b(`${run}\r\nd29yay4=`)).toBe(false);
    expect(b(`${run}}\nabcd`)).toBe(true);
    expect(b(`${run}\n abcd`)).toBe(true);
    expect(b(`${run}\n\nabcd`)).toBe(true);
    expect(b(`${run}\n\nabcd`, run.length + 1)).toBe(true);
    expect(b(`${run}\n`)).toBeUndefined();
    expect(b('a line of prose\nand another')).toBe(true);
    expect(b('ab"}\n')).toBe(true);
  });

  it('give a plain token few patterns, and skip the text encodings of a value that is not UTF-8', () => {
    const token = redactionPatterns(Buffer.from('ghp_0123456789abcdefghijklmnopqrstuvwxyz'));
    expect(token.length).toBeLessThan(100);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x80]);
    expect(redactionPatterns(binary).length).toBeGreaterThan(3);
  });
});
