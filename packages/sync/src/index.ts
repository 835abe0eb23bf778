/**
 * Zero-knowledge team sync, client side: the cryptography that lets a sync server store only ciphertext and never
 * see a password, a value, or a key it could use. The server and the CLI commands build on these functions.
 *
 * @packageDocumentation
 */
export {
  type PulledSecret,
  SyncClient,
  type SyncLocation,
  type SyncSession,
  type SyncWorkspace,
} from './client.js';
export {
  decryptSecret,
  encryptSecret,
  type SecretCoordinates,
  type SignedPolicy,
  signPolicy,
  verifyPolicy,
} from './envelopes.js';
export {
  type AccountKeys,
  createUserKeys,
  createWorkspaceKey,
  deriveAccountKeys,
  type KdfOffer,
  newKdfOffer,
  openUserKeys,
  openWorkspaceKey,
  type SealedUserKeys,
  sealUserKeys,
  sealWorkspaceKey,
  type UserKeys,
  userFingerprint,
  type WorkspaceKeyRef,
} from './keys.js';
