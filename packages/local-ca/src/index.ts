/**
 * The local certificate authority of `agentsecrets run`: a CA, per-host leaves for TLS termination, the trust bundle.
 *
 * @packageDocumentation
 */
export {
  buildTrustBundle,
  caValidFor,
  createCa,
  createLeafMinter,
  type Leaf,
  type LeafMinter,
  type LocalCa,
  loadCa,
  SYSTEM_BUNDLE_PATHS,
} from './ca.js';
