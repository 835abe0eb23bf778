/**
 * Zero-knowledge team sync, client side: the cryptography that lets a sync server store only ciphertext and never
 * see a password, a value, or a key it could use — nor choose one: workspace keys are accepted only from grants an
 * admin of the signed member roster made. The server and the CLI commands build on these functions.
 *
 * @packageDocumentation
 */
export {
  type Invite,
  type OpenedWorkspace,
  type PulledSecret,
  SyncClient,
  type SyncLocation,
  type SyncSession,
  type SyncWorkspace,
  type WorkspaceEntry,
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
export {
  type KeyGrant,
  type RosterMember,
  type RosterPin,
  rosterAdmins,
  rosterHash,
  rosterMember,
  type SignedRoster,
  signGrant,
  signRoster,
  type VerifiedRoster,
  verifyGrant,
  verifyRosterChain,
} from './roster.js';
export {
  B64,
  CreateWorkspaceRequestSchema,
  EMAIL,
  ENVIRONMENT,
  ID,
  InviteSchema,
  KeyGrantSchema,
  PushConflictSchema,
  PushRequestSchema,
  RosterListSchema,
  RosterMemberSchema,
  RosterUpdateRequestSchema,
  RotateRequestSchema,
  SECRET_NAME,
  SignedPolicySchema,
  SignedRosterSchema,
  StoredSecretSchema,
  USER_ID,
  WORKSPACE_ID,
  WorkspaceEntrySchema,
  WorkspaceSecretSchema,
} from './wire.js';
