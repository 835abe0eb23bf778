import type { CredentialClient } from './credential-client.js';
import { resolveHome } from './home.js';
import { type AgentSecretsOptions, createAgentSecrets } from './open.js';
import { connectRunningProxy, readProxyState } from './proxy-state.js';

/**
 * The client `call` and `mcp serve` use: the running proxy of this home when one answers (so the agent's own
 * processes never open the vault), otherwise the vault opened in this process.
 */
export async function openCredentialClient(
  options: AgentSecretsOptions = {},
): Promise<{ readonly client: CredentialClient; readonly via: 'proxy' | 'local' }> {
  const paths = resolveHome(options.env ?? process.env, options.home);
  const proxy = await connectRunningProxy(paths);
  if (proxy !== undefined) return { client: proxy, via: 'proxy' };
  const runningProxy = async () => {
    const state = await readProxyState(paths);
    if (state === undefined) return null;
    const host = state.host.includes(':') ? `[${state.host}]` : state.host;
    return { pid: state.pid, url: `http://${host}:${state.port}`, auth: state.token !== null };
  };
  return { client: await createAgentSecrets({ runningProxy, ...options }), via: 'local' };
}
