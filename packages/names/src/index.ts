/**
 * The naming rules every AgentSecrets layer shares, defined once: secret names and store namespace ids.
 *
 * @packageDocumentation
 */
export {
  assertNamespace,
  assertSecretName,
  isSecretName,
  NAMESPACE_ID_PATTERN,
  type Namespace,
  SECRET_NAME_PATTERN,
} from './names.js';
