/**
 * The AgentSecrets HTTP proxy (SPEC.md §4): the server, the process that runs it, and both ends of its protocol —
 * the client `call` and `mcp serve` use, the state file that finds a running proxy, and the choice between the
 * proxy and the local vault.
 *
 * @packageDocumentation
 */
export { ProxyClient } from './client.js';
export {
  formatProxyUrl,
  PROXY_USER,
  parseProxyAuthorization,
  RUNS_ROUTE,
  type RunGrant,
  RunGrantSchema,
  type RunRequest,
  RunRequestSchema,
} from './forward/wire.js';
export {
  connectRunningProxy,
  openCredentialClient,
  openRunningProxy,
  runningProxyInfo,
} from './open.js';
export { formatSessionToken, PROXY_HEADERS, PROXY_ROUTES } from './protocol.js';
export { type RunProxyOptions, runProxy } from './run.js';
export { type ProxyServerOptions, type RunningProxy, startProxyServer } from './server.js';
export {
  clearProxyState,
  type ProxyState,
  proxyListening,
  proxyUrl,
  readProxyState,
  readRecordedProxyState,
  writeProxyState,
} from './state.js';
export { VaultGate, type VaultGateOptions } from './vault-gate.js';
