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
export { type RunProxyOptions, runProxy } from './run.js';
export { type ProxyServerOptions, type RunningProxy, startProxyServer } from './server.js';
