export {
  type AgentCallRequest,
  AgentSecrets,
  type AgentSecretsOptions,
  type BufferedResponse,
  createAgentSecrets,
  loadConfig,
  type Release,
  type SecretInfo,
  type StatusInfo,
  type Transport,
} from './agent-secrets.js';
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
export type { OwnerKey } from './owner.js';
export type { BindingRecord, PolicyBody } from './policy.js';
export { findProjectLink, PROJECT_LINK_PATH } from './project-link.js';
