import {
  assertKdfParams,
  DEFAULT_KDF_PARAMS,
  deriveKey,
  generateSigningKeyPair,
  type KdfParams,
  open,
  randomBytes,
  type SigningKeyPair,
  seal,
  sign,
  verify,
} from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import type { OwnerRecord } from './model.js';

const AAD_PREFIX = 'agentsecrets:owner-key:v1:';

/**
 * The unlocked owner: holds the Ed25519 private key that signs policy. Obtained only with the owner passphrase;
 * printing it shows nothing of the key.
 */
export class OwnerKey {
  readonly #keyPair: SigningKeyPair;

  constructor(keyPair: SigningKeyPair) {
    this.#keyPair = keyPair;
  }

  /** The public key, base64. */
  get publicKey(): string {
    return Buffer.from(this.#keyPair.publicKey).toString('base64');
  }

  /** Signs `message` with the owner's private key. */
  sign(message: string): string {
    return sign(message, this.#keyPair.privateKey).toString('base64');
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[owner key]';
  }

  toJSON(): string {
    return '[owner key]';
  }
}

/** Creates a new owner key pair sealed under the passphrase (Argon2id at the default parameters). */
export async function createOwnerKey(
  passphrase: string,
  params: KdfParams = DEFAULT_KDF_PARAMS,
): Promise<{ record: OwnerRecord; owner: OwnerKey }> {
  const keyPair = generateSigningKeyPair();
  const salt = randomBytes(16);
  const key = await deriveKey(passphrase, salt, params);
  const publicKey = Buffer.from(keyPair.publicKey).toString('base64');
  const sealed = seal(key, keyPair.privateKey, AAD_PREFIX + publicKey);
  key.fill(0);
  return {
    record: {
      publicKey,
      sealedPrivateKey: sealed.toString('base64'),
      salt: salt.toString('base64'),
      kdf: { ...params },
    },
    owner: new OwnerKey(keyPair),
  };
}

/**
 * Opens the owner key with the passphrase. A wrong passphrase is PASSPHRASE_INCORRECT; KDF parameters lowered in the
 * file are refused (KDF_PARAMS_TOO_WEAK), and a key pair whose halves do not match is POLICY_SIGNATURE_INVALID.
 */
export async function unlockOwnerKey(record: OwnerRecord, passphrase: string): Promise<OwnerKey> {
  const params = assertKdfParams(record.kdf);
  const key = await deriveKey(passphrase, Buffer.from(record.salt, 'base64'), params);
  let privateKey: Buffer;
  try {
    privateKey = open(key, Buffer.from(record.sealedPrivateKey, 'base64'), AAD_PREFIX + record.publicKey);
  } catch (e) {
    throw new AgentSecretsError('PASSPHRASE_INCORRECT', 'the owner passphrase is not correct', {
      hint: 'type the passphrase chosen at `agentsecrets init`',
      cause: e,
    });
  } finally {
    key.fill(0);
  }
  const keyPair: SigningKeyPair = { publicKey: Buffer.from(record.publicKey, 'base64'), privateKey };
  const probe = 'agentsecrets:owner-key-check';
  if (!verify(probe, sign(probe, privateKey), keyPair.publicKey)) {
    throw new AgentSecretsError(
      'POLICY_SIGNATURE_INVALID',
      'the stored owner public key does not match its private key',
      {
        hint: 'config.json was edited; restore it from a backup',
      },
    );
  }
  return new OwnerKey(keyPair);
}
