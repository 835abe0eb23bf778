export { type AddressClass, classifyAddress } from './address.js';
export { checkPlacements } from './placements.js';
export {
  type AllowlistEntry,
  type Binding,
  checkAllowlist,
  checkBindings,
  type Destination,
  entryForHost,
  formatAllowlistEntry,
  formatBinding,
  type HostKind,
  matchAllowlist,
  parseAllowlistEntry,
  parseBinding,
  parseDestination,
} from './policy.js';
export {
  checkAddress,
  checkLiteral,
  createGuardedLookup,
  type LookupFunction,
  resolveAndCheck,
} from './ssrf.js';
