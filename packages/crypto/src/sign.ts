import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import { sha256, toBytes } from './util.js';

/** An Ed25519 key pair: raw 32-byte public key and 32-byte private seed. */
export interface SigningKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

// DER prefixes that wrap a raw Ed25519 key (RFC 8410), so raw keys can be used with node:crypto.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function privateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== 32)
    throw new AgentSecretsError('CRYPTO_INVALID_INPUT', 'an Ed25519 private key must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A new Ed25519 key pair. */
export function generateSigningKeyPair(): SigningKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length),
  };
}

/** The raw public key of a private seed. */
export function signingPublicKey(privateKey: Uint8Array): Buffer {
  return createPublicKey(privateKeyObject(privateKey))
    .export({ format: 'der', type: 'spki' })
    .subarray(SPKI_PREFIX.length);
}

/** An Ed25519 signature (64 bytes). */
export function sign(message: Uint8Array | string, privateKey: Uint8Array): Buffer {
  return nodeSign(null, toBytes(message), privateKeyObject(privateKey));
}

/** True only for a valid signature; false (never a throw) for anything malformed. */
export function verify(message: Uint8Array | string, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return nodeVerify(null, toBytes(message), publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/**
 * A short fingerprint of a public key for checking out of band: the first 16 bytes of its SHA-256 as 8 groups of
 * 4 hex digits, e.g. `3f2a 91c0 …`.
 */
export function fingerprint(publicKey: Uint8Array): string {
  return (sha256(publicKey).subarray(0, 16).toString('hex').match(/.{4}/g) ?? []).join(' ');
}

/** HKDF-SHA256 (RFC 5869). */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new AgentSecretsError('CRYPTO_INVALID_INPUT', 'HKDF output length must be 1 to 8160 bytes');
  }
  return Buffer.from(hkdfSync('sha256', ikm, salt, toBytes(info), length));
}
