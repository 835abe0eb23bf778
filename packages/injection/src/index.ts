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
  checkAddress,
  checkAllowlist,
  checkBindings,
  checkPlacements,
  classifyAddress,
  createGuardedLookup,
  type Destination,
  entryForHost,
  formatAllowlistEntry,
  formatBinding,
  type HostKind,
  type LookupFunction,
  matchAllowlist,
  parseAllowlistEntry,
  parseBinding,
  parseDestination,
  resolveAndCheck,
} from './policy/index.js';
export {
  DEFAULT_RELEASE,
  MIN_REDACTABLE_LENGTH,
  REDACTION_MARKER,
  type RedactableSecret,
  type RedactingStream,
  Redactor,
  type ReleaseRule,
} from './redact/index.js';
export { applyInjections, type InjectableSecret, type OutboundRequest } from './spec/apply.js';
export { parseBodyPath, setJsonPath } from './spec/json-path.js';
export {
  canonicalPlacements,
  DEFAULT_STYLES,
  formatPlacement,
  isDefaultStyle,
  type Placement,
  parsePlacement,
  placementAllows,
} from './spec/placement.js';
export {
  createInjectionSpec,
  formatInjectionSpec,
  INJECTION_STYLES,
  type InjectionSpec,
  type InjectionStyle,
  parseCliInjection,
  parseInjectionObject,
  parseInjectionSpec,
  parseProxyInjections,
  parseSpecKey,
  validateInjections,
} from './spec/spec.js';
