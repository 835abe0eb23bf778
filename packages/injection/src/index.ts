/**
 * The AgentSecrets injection engine: injection specs, destination policy (allowlist, bindings, SSRF), the
 * outbound client and the streaming redactor.
 *
 * @packageDocumentation
 */
export {
  type CallOutcome,
  type CallRequest,
  type CallResponse,
  type EngineOptions,
  type EnginePolicy,
  type EngineSecrets,
  type EngineTimeouts,
  type HeadersInput,
  InjectionEngine,
} from './engine/engine.js';
export { locatePlaceholders, type PlaceholderRequest } from './placeholder/locate.js';
export {
  findPlaceholders,
  makePlaceholders,
  type PlaceholderHit,
  type PlaceholderSet,
} from './placeholder/placeholders.js';
export {
  type AddressClass,
  type AllowlistEntry,
  type Binding,
  type Destination,
  formatAllowlistEntry,
  formatBinding,
  type HostKind,
  type LookupFunction,
  parseAllowlistEntry,
  parseBinding,
  parseDestination,
} from './policy/index.js';
export {
  MIN_REDACTABLE_LENGTH,
  REDACTION_MARKER,
  type RedactableSecret,
  type RedactingStream,
  Redactor,
  type ReleaseRule,
} from './redact/index.js';
export {
  applyInjections,
  type InjectableSecret,
  type OutboundRequest,
  secretNotFound,
} from './spec/apply.js';
export { parseBodyPath, setJsonPath } from './spec/json-path.js';
export {
  canonicalPlacements,
  type Placement,
  parsePlacement,
} from './spec/placement.js';
export {
  createInjectionSpec,
  formatInjectionSpec,
  type InjectionSpec,
  type InjectionStyle,
  parseCliInjection,
  parseInjectionObject,
  parseInjectionSpec,
  validateInjections,
} from './spec/spec.js';
