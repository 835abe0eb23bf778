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
  type ErrorCode,
  exitCodeFor,
  httpStatusFor,
  isAgentSecretsError,
  toAgentSecretsError,
} from '@agentsecrets/errors';
export {
  type CallOutcome,
  type CallResponse,
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
  parseProxyInjections,
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
export {
  type AgentCallRequest,
  type AgentCallResponse,
  AgentSecrets,
  type AgentSecretsOptions,
  type BufferedResponse,
  type CredentialClient,
  createAgentSecrets,
  loadConfig,
  type Release,
  type SecretInfo,
  type StatusInfo,
  type Transport,
} from './agent-secrets.js';
export { openCredentialClient } from './client.js';
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
export type { OwnerKey } from './owner.js';
export type { BindingRecord, PolicyBody } from './policy.js';
export { findProjectLink, PROJECT_LINK_PATH } from './project-link.js';
export {
  clearProxyState,
  connectRunningProxy,
  isProcessAlive,
  PROXY_ERROR_HEADER,
  ProxyClient,
  type ProxyState,
  readProxyState,
  writeProxyState,
} from './proxy-state.js';
export { type SyncDiff, type SyncState, TeamSync, type WorkspaceInfo } from './team.js';
