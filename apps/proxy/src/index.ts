export { type RunProxyOptions, runProxy } from './run.js';
export { type ProxyServerOptions, type RunningProxy, startProxyServer } from './server.js';
export { VaultGate, type VaultGateOptions } from './vault-gate.js';
