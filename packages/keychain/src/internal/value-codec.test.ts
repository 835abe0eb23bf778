import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BINARY_MARKER, decodeFromKeychain, encodeForKeychain } from './value-codec.js';

describe('keychain value codec', () => {
  it('round-trips every byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expect(decodeFromKeychain(encodeForKeychain(bytes))).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every string (as UTF-8), including ones that start with the marker', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), fc.boolean(), (text, prefixed) => {
        const value = prefixed ? BINARY_MARKER + text : text;
        const bytes = Buffer.from(value, 'utf8');
        expect(decodeFromKeychain(encodeForKeychain(bytes))).toEqual(bytes);
      }),
    );
  });

  it('never produces a string a keychain cannot hold: never empty, never a NUL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const stored = encodeForKeychain(bytes);
        expect(stored.length).toBeGreaterThan(0);
        expect(stored.includes('\0')).toBe(false);
      }),
    );
  });

  it('stores plain text as itself, so it reads naturally in a keychain viewer', () => {
    expect(encodeForKeychain(Buffer.from('sk_live_abc'))).toBe('sk_live_abc');
    expect(encodeForKeychain(Buffer.from([0xff]))).toBe(`${BINARY_MARKER}/w==`);
    expect(encodeForKeychain(Buffer.alloc(0))).toBe(BINARY_MARKER);
  });
});
