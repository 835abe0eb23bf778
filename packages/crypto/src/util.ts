import { createHash, randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';
import { AgentSecretsError } from '@agentsecrets/errors';

/** Bytes of a string (UTF-8) or a copy-free view of bytes. */
export function toBytes(data: Uint8Array | string): Buffer {
  return typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Cryptographically random bytes. */
export function randomBytes(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > 65536) {
    throw new AgentSecretsError(
      'CRYPTO_INVALID_INPUT',
      'random byte length must be an integer from 0 to 65536',
    );
  }
  return nodeRandomBytes(length);
}

/**
 * A 128-bit random identifier, url-safe: `prefix_` followed by 22 base64url characters (e.g. `ws_Q2xX…`).
 *
 * @example
 * ```ts
 * randomId('prj'); // 'prj_3q2-7wEhTfO0bWk1C9oV4A'
 * ```
 */
export function randomId(prefix?: string): string {
  const id = nodeRandomBytes(16).toString('base64url');
  return prefix === undefined ? id : `${prefix}_${id}`;
}

/** SHA-256 of bytes or of a string's UTF-8. */
export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(toBytes(data)).digest();
}

/**
 * Compares two values in time that depends only on their lengths' hashes, not their contents: both sides are hashed
 * first, so unequal lengths leak nothing about where they differ.
 */
export function constantTimeEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  const ha = sha256(a);
  const hb = sha256(b);
  return timingSafeEqual(ha, hb) && toBytes(a).length === toBytes(b).length;
}
