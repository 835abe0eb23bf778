/**
 * Zero-knowledge team sync, client side: the cryptography that lets a sync server store only ciphertext and never
 * see a password, a value, or a key it could use — nor choose one: workspace keys are accepted only from grants an
 * admin of the signed member roster made. The server and the CLI commands build on these functions.
 *
 * @packageDocumentation
 */
export { SyncClient } from './client.js';
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
export type {
  Invite,
  OpenedWorkspace,
  PulledSecret,
  PushOutcome,
  SyncLocation,
  SyncSession,
  SyncWorkspace,
  WorkspaceEntry,
} from './types.js';
export {
  B64,
  CreatedWorkspaceSchema,
  CreateWorkspaceRequestSchema,
  EMAIL,
  ENVIRONMENT,
  ID,
  InviteRequestSchema,
  InviteSchema,
  KdfOfferSchema,
  KeyGrantSchema,
  LoginRequestSchema,
  LoginResponseSchema,
  MemberSchema,
  MyInviteSchema,
  PolicyUploadSchema,
  PreloginRequestSchema,
  PushConflictSchema,
  PushedSchema,
  PushRequestSchema,
  RefreshRequestSchema,
  RosterListSchema,
  RosterMemberSchema,
  RosterUpdateRequestSchema,
  RotateRequestSchema,
  SECRET_NAME,
  SealedUserKeysSchema,
  SecretVersionSchema,
  SignedPolicySchema,
  SignedRosterSchema,
  SignupRequestSchema,
  StoredPolicySchema,
  StoredSecretSchema,
  TokenPairSchema,
  USER_ID,
  WORKSPACE_ID,
  WORKSPACE_NAME,
  WorkspaceEntrySchema,
  WorkspaceSecretSchema,
} from './wire.js';
export {
  isSyncErrorCode,
  SYNC_ERROR_CODES,
  type SyncErrorBody,
  SyncErrorBodySchema,
  type SyncErrorCode,
} from './wire-errors.js';
