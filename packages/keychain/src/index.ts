/**
 * Where AgentSecrets keeps secret values: the OS keychain, an encrypted vault file, or memory, behind one
 * {@link SecretStore} interface, and {@link SecretValue}, a holder that cannot be printed by accident.
 *
 * @packageDocumentation
 */

export { assertNamespace, assertSecretName, type Namespace } from '@agentsecrets/names';
export { type FileVaultOptions, openFileVault, type PassphraseSource } from './file-vault.js';
export { createMemoryStore } from './memory-store.js';
export { type OpenStoreOptions, openSecretStore } from './open-store.js';
export { createOsStore, type OsStoreOptions, type ProbeOptions, probeOsKeychain } from './os-store.js';
export { SecretValue } from './secret-value.js';
export { BACKEND_NAMES, type BackendName, type SecretStore } from './types.js';
