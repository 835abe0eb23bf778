/**
 * `@agentsecrets/proxy/client`: the client end of the proxy alone — find the running proxy of a home, talk to it,
 * or open the vault in this process when none runs. It loads node:http and the light packages (errors, injection
 * specs, fs) only; the core is imported on the local path alone. The CLI's and the MCP server's way to the proxy.
 *
 * @packageDocumentation
 */
export { ProxyClient } from './client.js';
export { connectRunningProxy, openCredentialClient, runningProxyInfo } from './open.js';
export { formatSessionToken, PROXY_HEADERS, PROXY_ROUTES } from './protocol.js';
export {
  type ProxyState,
  proxyListening,
  proxyUrl,
  readProxyState,
  readRecordedProxyState,
} from './state.js';
