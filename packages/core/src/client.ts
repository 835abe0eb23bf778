import { type AgentSecretsOptions, type CredentialClient, createAgentSecrets } from './agent-secrets.js';
import { resolveHome } from './home.js';
import { connectRunningProxy } from './proxy-state.js';

/**
 * The client `call` and `mcp serve` use: the running proxy of this home when one answers (so the agent's own
 * processes never open the vault), otherwise the vault opened in this process.
 */
export async function openCredentialClient(
  options: AgentSecretsOptions = {},
): Promise<{ readonly client: CredentialClient; readonly via: 'proxy' | 'local' }> {
  const proxy = await connectRunningProxy(resolveHome(options.env ?? process.env, options.home));
  if (proxy !== undefined) return { client: proxy, via: 'proxy' };
  return { client: await createAgentSecrets(options), via: 'local' };
}
