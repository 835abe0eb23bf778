import { AgentSecretsError } from '@agentsecrets/errors';
import sodium from 'libsodium-wrappers';
import { toBytes } from './util.js';

/** An X25519 key pair for receiving sealed boxes. */
export interface BoxKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

async function ready(): Promise<typeof sodium> {
  await sodium.ready;
  return sodium;
}

/** A new X25519 key pair. */
export async function generateBoxKeyPair(): Promise<BoxKeyPair> {
  const s = await ready();
  const kp = s.crypto_box_keypair();
  return { publicKey: kp.publicKey, privateKey: kp.privateKey };
}

/**
 * Encrypts to a public key anonymously (libsodium `crypto_box_seal`: ephemeral X25519 + XSalsa20-Poly1305). Only
 * the holder of the private key can open it; the sender cannot.
 */
export async function sealBox(
  message: Uint8Array | string,
  recipientPublicKey: Uint8Array,
): Promise<Uint8Array> {
  const s = await ready();
  if (recipientPublicKey.length !== s.crypto_box_PUBLICKEYBYTES) {
    throw new AgentSecretsError('CRYPTO_INVALID_INPUT', 'an X25519 public key must be 32 bytes');
  }
  return s.crypto_box_seal(toBytes(message), recipientPublicKey);
}

/** Opens a sealed box; DECRYPT_FAILED when it was not sealed to this key pair or was altered. */
export async function openBox(sealed: Uint8Array, keyPair: BoxKeyPair): Promise<Uint8Array> {
  const s = await ready();
  try {
    return s.crypto_box_seal_open(sealed, keyPair.publicKey, keyPair.privateKey);
  } catch (e) {
    throw new AgentSecretsError('DECRYPT_FAILED', 'the sealed box could not be opened with this key', {
      hint: 'it was sealed to another key, or altered',
      cause: e,
    });
  }
}
