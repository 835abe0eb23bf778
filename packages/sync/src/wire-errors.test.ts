import { ERROR_CODES } from '@agentsecrets/errors';
import { describe, expect, it } from 'vitest';
import { isSyncErrorCode, SYNC_ERROR_CODES, syncErrorFrom } from './wire-errors.js';

describe('sync error codes', () => {
  it('are codes of the error table', () => {
    for (const code of SYNC_ERROR_CODES) expect(Object.hasOwn(ERROR_CODES, code), code).toBe(true);
    expect(isSyncErrorCode('SYNC_CONFLICT')).toBe(true);
    expect(isSyncErrorCode('VAULT_LOCKED')).toBe(false);
    expect(isSyncErrorCode('toString')).toBe(false);
  });

  it("become the client's error with the server's code, a printable message and a hint", () => {
    for (const code of SYNC_ERROR_CODES) {
      const err = syncErrorFrom({ error: { code, message: 'why' } }, 'the push');
      expect(err.code).toBe(code);
      expect(err.message).toBe('the sync server refused: why');
      expect(err.hint).toMatch(/\w/);
    }
    const long = syncErrorFrom(
      { error: { code: 'SYNC_CONFLICT', message: `${'x'.repeat(300)}\u0000` } },
      'x',
    );
    expect(long.message).toBe(`the sync server refused: ${'x'.repeat(200)}`);
    const escapes = syncErrorFrom(
      { error: { code: 'INTERNAL_ERROR', message: 'a\u001b[31mb\u009bc\u200fd\u2066e\r\nf' } },
      'x',
    );
    expect(escapes.message).toBe('the sync server refused: a[31mbcdef');
  });

  it('refuse anything else as a malformed answer', () => {
    for (const body of [
      {},
      null,
      'text',
      { error: 'UNAUTHORIZED' },
      { error: { code: 'KEY_GRANT_INVALID', message: 'm' } },
      { error: { code: 'hasOwnProperty', message: 'm' } },
      { error: { code: 'UNAUTHORIZED' } },
      { error: { code: 'UNAUTHORIZED', message: 'm'.repeat(1001) } },
    ]) {
      const err = syncErrorFrom(body, 'the roster');
      expect(err.code, JSON.stringify(body)).toBe('UPSTREAM_RESET');
      expect(err.message).toBe('the sync server answered the roster with no error it may send');
    }
  });
});
