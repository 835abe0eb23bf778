// The one credential-resolution core. Apps import everything they need from here, so that every transport shares
// one set of parsers, one error type and one engine.
export {
  type AuditEvent,
  type AuditFilter,
  followAudit,
  readLast,
  type VerifyResult,
  verifyAuditLog,
} from '@agentsecrets/audit';
export { constantTimeEqual, randomId } from '@agentsecrets/crypto';
export {
  AgentSecretsError,
  ERROR_CODES,
  type ErrorCode,
  exitCodeFor,
  httpStatusFor,
  isAgentSecretsError,
  toAgentSecretsError,
} from '@agentsecrets/errors';
export { isProcessAlive } from '@agentsecrets/fs';
export {
  type CallOutcome,
  type CallResponse,
  createInjectionSpec,
  findPlaceholders,
  formatInjectionSpec,
  type InjectionSpec,
  type InjectionStyle,
  locatePlaceholders,
  MIN_REDACTABLE_LENGTH,
  makePlaceholders,
  type PlaceholderSet,
  parseCliInjection,
  parseDestination,
  parseInjectionObject,
  parseInjectionSpec,
  REDACTION_MARKER,
  Redactor,
  validateInjections,
} from '@agentsecrets/injection';
export {
  type BackendName,
  createMemoryStore,
  probeOsKeychain,
  type SecretStore,
  SecretValue,
} from '@agentsecrets/keychain';
export { isSecretName, SECRET_NAME_PATTERN } from '@agentsecrets/names';
export { AgentSecrets } from './agent-secrets.js';
export type {
  AgentCallRequest,
  AgentCallResponse,
  BufferedResponse,
  CredentialClient,
  ProxyInfo,
  Release,
  SecretInfo,
  StatusInfo,
  Transport,
} from './credential-client.js';
export { type HomePaths, resolveHome } from './home.js';
export { type InitOptions, type InitResult, initAgentSecrets, MIN_PASSPHRASE_LENGTH } from './init.js';
export {
  assertName,
  type Config,
  type ProjectLink,
  type ProjectRef,
  projectNameFrom,
  type Workspace,
} from './model.js';
export { isLoopbackHost, randomToken } from './net.js';
export { type AgentSecretsOptions, createAgentSecrets, loadConfig } from './open.js';
export type { OwnerKey } from './owner.js';
export type { BindingRecord, PolicyBody } from './policy.js';
export { findProjectLink, PROJECT_LINK_PATH } from './project-link.js';
export { TeamSync, type TeamSyncDiff, type TeamSyncState, type TeamWorkspace } from './team.js';
