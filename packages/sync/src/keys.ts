import {
  assertKdfParams,
  type BoxKeyPair,
  deriveKey,
  fingerprint,
  generateBoxKeyPair,
  generateSigningKeyPair,
  hkdf,
  type KdfParams,
  open,
  openBox,
  randomBytes,
  type SigningKeyPair,
  seal,
  sealBox,
} from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64');

/** What the server hands a client before login: the account's random salt and KDF parameters. */
export interface KdfOffer {
  /** Base64, at least 16 bytes. */
  readonly salt: string;
  readonly params: KdfParams;
}

/**
 * The two keys split from the password. `authKey` is what the client proves itself with (the server keeps only a
 * slow hash of it); `encKey` never leaves the device and unlocks the user's private keys.
 */
export interface AccountKeys {
  readonly authKey: Buffer;
  readonly encKey: Buffer;
}

/**
 * Derives the account keys from the password: Argon2id with the salt and parameters the server offers — refused
 * below the floors (KDF_PARAMS_TOO_WEAK), so a malicious server cannot make the password cheap to guess — then
 * HKDF-SHA256 into independent authentication and encryption keys. The password itself is never sent anywhere.
 */
export async function deriveAccountKeys(password: string, offer: KdfOffer): Promise<AccountKeys> {
  const params = assertKdfParams(offer.params);
  const salt = unb64(offer.salt);
  if (salt.length < 16) {
    throw new AgentSecretsError('KDF_PARAMS_TOO_WEAK', 'the server offered a salt shorter than 16 bytes', {
      hint: 'the server may be misconfigured or malicious; refusing to derive keys',
    });
  }
  const master = await deriveKey(password, salt, params);
  try {
    return {
      authKey: hkdf(master, salt, 'agentsecrets/account/auth/v1', 32),
      encKey: hkdf(master, salt, 'agentsecrets/account/enc/v1', 32),
    };
  } finally {
    master.fill(0);
  }
}

/** A fresh KDF offer for a new account (the client proposes it at sign-up; the server stores and serves it). */
export function newKdfOffer(params: KdfParams): KdfOffer {
  return { salt: b64(randomBytes(16)), params: assertKdfParams(params) };
}

/** A user's key pairs: X25519 for receiving workspace keys, Ed25519 for signing policy. */
export interface UserKeys {
  readonly box: BoxKeyPair;
  readonly signing: SigningKeyPair;
}

/** What the server stores of a user's keys: the public halves, and the private halves sealed under `encKey`. */
export interface SealedUserKeys {
  readonly boxPublicKey: string;
  readonly signingPublicKey: string;
  readonly sealedPrivateKeys: string;
}

function userKeysAad(userId: string, boxPublicKey: string, signingPublicKey: string): string {
  return `agentsecrets/user-keys/v1\n${userId}\n${boxPublicKey}\n${signingPublicKey}`;
}

/** New key pairs for a user. */
export async function createUserKeys(): Promise<UserKeys> {
  return { box: await generateBoxKeyPair(), signing: generateSigningKeyPair() };
}

/**
 * Seals the private keys under the user's encryption key with the user id and both public keys as associated
 * data: the server cannot hand one user's sealed keys to another, nor pair them with other public keys.
 */
export function sealUserKeys(keys: UserKeys, encKey: Uint8Array, userId: string): SealedUserKeys {
  const boxPublicKey = b64(keys.box.publicKey);
  const signingPublicKey = b64(keys.signing.publicKey);
  const privates = Buffer.concat([Buffer.from(keys.box.privateKey), Buffer.from(keys.signing.privateKey)]);
  try {
    return {
      boxPublicKey,
      signingPublicKey,
      sealedPrivateKeys: b64(seal(encKey, privates, userKeysAad(userId, boxPublicKey, signingPublicKey))),
    };
  } finally {
    privates.fill(0);
  }
}

/** Opens sealed user keys; DECRYPT_FAILED when they are not this user's or were altered. */
export function openUserKeys(sealed: SealedUserKeys, encKey: Uint8Array, userId: string): UserKeys {
  const privates = open(
    encKey,
    unb64(sealed.sealedPrivateKeys),
    userKeysAad(userId, sealed.boxPublicKey, sealed.signingPublicKey),
  );
  if (privates.length !== 64) {
    throw new AgentSecretsError('DECRYPT_FAILED', 'the stored user keys have the wrong length', {
      hint: 'the account data was altered',
    });
  }
  return {
    box: { publicKey: unb64(sealed.boxPublicKey), privateKey: Buffer.from(privates.subarray(0, 32)) },
    signing: { publicKey: unb64(sealed.signingPublicKey), privateKey: Buffer.from(privates.subarray(32)) },
  };
}

/** The fingerprint an inviter compares out of band before trusting an invitee's key. */
export function userFingerprint(boxPublicKey: string, signingPublicKey: string): string {
  return fingerprint(Buffer.concat([unb64(boxPublicKey), unb64(signingPublicKey)]));
}

/** Where a workspace key belongs: it is only valid for that workspace and that key version. */
export interface WorkspaceKeyRef {
  readonly workspaceId: string;
  readonly keyVersion: number;
}

const WS_KEY_MAGIC = 'agentsecrets/ws-key/v1';

function wsKeyHeader(ref: WorkspaceKeyRef): Buffer {
  return Buffer.from(`${WS_KEY_MAGIC}\n${ref.workspaceId}\n${ref.keyVersion}\n`, 'utf8');
}

/** A new random workspace key. Always made by a client, never by the server. */
export function createWorkspaceKey(): Buffer {
  return randomBytes(32);
}

/**
 * Seals a workspace key to a member's X25519 public key. A sealed box carries no associated data, so the workspace
 * id and key version are sealed inside and checked on opening: the server cannot present one workspace's key as
 * another's, or an old key as the current one.
 */
export async function sealWorkspaceKey(
  key: Uint8Array,
  memberBoxPublicKey: string,
  ref: WorkspaceKeyRef,
): Promise<string> {
  return b64(await sealBox(Buffer.concat([wsKeyHeader(ref), Buffer.from(key)]), unb64(memberBoxPublicKey)));
}

/** Opens a workspace key sealed to us, checking it is for `ref`. */
export async function openWorkspaceKey(
  sealed: string,
  box: BoxKeyPair,
  ref: WorkspaceKeyRef,
): Promise<Buffer> {
  const plain = Buffer.from(await openBox(unb64(sealed), box));
  const header = wsKeyHeader(ref);
  if (plain.length !== header.length + 32 || !plain.subarray(0, header.length).equals(header)) {
    plain.fill(0);
    throw new AgentSecretsError(
      'DECRYPT_FAILED',
      `the workspace key offered is not for workspace ${ref.workspaceId} version ${ref.keyVersion}`,
      {
        hint: 'the server returned a key for another workspace or version; refusing it',
      },
    );
  }
  const key = Buffer.from(plain.subarray(header.length));
  plain.fill(0);
  return key;
}
