import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import { toBytes } from './util.js';

/** Envelope format version. */
export const ENVELOPE_VERSION = 1;
const ALG_AES_256_GCM = 1;
const NONCE = 12;
const TAG = 16;
const HEADER = 2;

function checkKey(key: Uint8Array): void {
  if (key.length !== 32) {
    throw new AgentSecretsError('CRYPTO_INVALID_INPUT', 'an AES-256-GCM key must be 32 bytes');
  }
}

/** AES-256-GCM with an explicit nonce: the primitive under {@link seal}, exposed for known-answer tests. */
export function gcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) {
  checkKey(key);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/** Inverse of {@link gcmEncrypt}; throws DECRYPT_FAILED when the tag does not verify. */
export function gcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
) {
  checkKey(key);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (e) {
    throw new AgentSecretsError(
      'DECRYPT_FAILED',
      'the data could not be decrypted: wrong key, wrong context, or tampered',
      {
        hint: 'check the passphrase; if it is right, the stored data was altered',
        cause: e,
      },
    );
  }
}

/**
 * Encrypts with AES-256-GCM under a fresh random 96-bit nonce, binding `aad` (the context: what this ciphertext is
 * for). The result is a self-describing envelope: `[version][algorithm][nonce 12][ciphertext][tag 16]`.
 *
 * @example
 * ```ts
 * const env = seal(key, 'value', 'vault:v1:ws/proj/STRIPE_KEY');
 * open(key, env, 'vault:v1:ws/proj/STRIPE_KEY').toString(); // 'value'
 * ```
 */
export function seal(key: Uint8Array, plaintext: Uint8Array | string, aad: Uint8Array | string): Buffer {
  const nonce = randomBytes(NONCE);
  const { ciphertext, tag } = gcmEncrypt(key, nonce, toBytes(plaintext), toBytes(aad));
  return Buffer.concat([Buffer.from([ENVELOPE_VERSION, ALG_AES_256_GCM]), nonce, ciphertext, tag]);
}

/**
 * Opens an envelope made by {@link seal}. Fails closed: ENVELOPE_INVALID for a truncated or unknown envelope,
 * DECRYPT_FAILED for a wrong key, wrong AAD or any altered bit. Never returns partial plaintext.
 */
export function open(key: Uint8Array, envelope: Uint8Array, aad: Uint8Array | string): Buffer {
  if (envelope.length < HEADER + NONCE + TAG) {
    throw new AgentSecretsError('ENVELOPE_INVALID', 'the encrypted data is truncated', {
      hint: 'the stored data was cut short or altered',
    });
  }
  if (envelope[0] !== ENVELOPE_VERSION || envelope[1] !== ALG_AES_256_GCM) {
    throw new AgentSecretsError(
      'ENVELOPE_INVALID',
      `unknown envelope version ${envelope[0]} / algorithm ${envelope[1]}`,
      {
        hint: 'the data was written by a newer AgentSecrets, or altered',
      },
    );
  }
  const bytes = toBytes(envelope);
  const nonce = bytes.subarray(HEADER, HEADER + NONCE);
  const ciphertext = bytes.subarray(HEADER + NONCE, bytes.length - TAG);
  const tag = bytes.subarray(bytes.length - TAG);
  return gcmDecrypt(key, nonce, ciphertext, tag, toBytes(aad));
}
