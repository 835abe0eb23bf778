import type { AgentCallRequest, AgentSecretsOptions, CredentialClient, ProxyInfo } from '@agentsecrets/core';
import { AgentSecretsError, toAgentSecretsError } from '@agentsecrets/errors';
import { type HomePaths, resolveHome } from '@agentsecrets/fs';
import { ProxyClient } from './client.js';
import { callerHeaders, checkInjectionTargets } from './protocol.js';
import { proxyUrl, readProxyState } from './state.js';

/** The running proxy of a home as `status` shows it (never its token), or null when none is recorded. */
export async function runningProxyInfo(paths: HomePaths): Promise<ProxyInfo | null> {
  const state = await readProxyState(paths);
  return state === undefined ? null : { pid: state.pid, url: proxyUrl(state), auth: state.token !== null };
}

/** The running proxy of a home as a client (a locked one too), or undefined when none answers. */
export async function connectRunningProxy(paths: HomePaths): Promise<ProxyClient | undefined> {
  const state = await readProxyState(paths);
  if (state === undefined) return undefined;
  const client = new ProxyClient(state);
  if (await client.health()) return client;
  await client.close();
  return undefined;
}

/**
 * The client `call` and `mcp serve` use: the running proxy of this home (so the agent's own processes never open
 * the vault), or the vault opened in this process when no proxy runs — none is recorded, its process is gone, or
 * nothing listens where it was. A proxy that answers but refuses (a wrong token) is an error, not a reason to open
 * the vault instead; and once a call went to the proxy, its answer — a policy refusal too — is returned as it is.
 */
export async function openCredentialClient(
  options: AgentSecretsOptions = {},
): Promise<{ readonly client: CredentialClient; readonly via: 'proxy' | 'local' }> {
  const paths = resolveHome(options.env ?? process.env, options.home);
  const state = await readProxyState(paths);
  if (state !== undefined) {
    const proxy = new ProxyClient(state);
    try {
      await proxy.check();
      return { client: proxy, via: 'proxy' };
    } catch (e) {
      await proxy.close();
      const error = toAgentSecretsError(e);
      if (error.code === 'UNAUTHORIZED') {
        throw new AgentSecretsError(
          'UNAUTHORIZED',
          `the running proxy (pid ${state.pid}) does not take the session token in ${paths.proxy}`,
          { hint: 'restart it: `agentsecrets proxy stop`, then `agentsecrets proxy start`' },
        );
      }
      if (error.code !== 'UPSTREAM_UNREACHABLE') throw error;
    }
  }
  // Loaded only here: a process that goes through the proxy never loads the core (argon2, libsodium, undici, zod).
  const { createAgentSecrets } = await import('@agentsecrets/core');
  const core = await createAgentSecrets({ runningProxy: () => runningProxyInfo(paths), ...options });
  return { client: sameRulesAsProxy(core), via: 'local' };
}

/**
 * The local core with the protocol's rules on a caller's request, so that a call behaves alike with or without a
 * proxy: a caller's protocol header is dropped, an injection into one refused.
 */
function sameRulesAsProxy(core: CredentialClient): CredentialClient {
  return {
    async fetch(request: AgentCallRequest & { readonly maxBytes?: number }) {
      checkInjectionTargets(request.injections);
      if (request.headers === undefined) return core.fetch(request);
      const pairs: [string, string][] = [];
      const entries = Array.isArray(request.headers) ? request.headers : Object.entries(request.headers);
      for (const [name, value] of entries as [string, string | readonly string[] | undefined][]) {
        if (value === undefined) continue;
        for (const v of typeof value === 'string' ? [value] : value) pairs.push([name, v]);
      }
      return core.fetch({ ...request, headers: callerHeaders(pairs) });
    },
    listSecrets: () => core.listSecrets(),
    status: () => core.status(),
    close: () => core.close(),
  };
}
