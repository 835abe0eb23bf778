import {
  type AgentSecretsOptions,
  type CredentialClient,
  openCredentialClient,
  resolveHome,
  toAgentSecretsError,
} from '@agentsecrets/core';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer } from './server.js';

/**
 * Runs the MCP server over stdio until the client disconnects. Goes through the running proxy when there is one,
 * else opens the vault itself. Nothing but the protocol is written to stdout.
 */
export async function serveStdio(
  options: AgentSecretsOptions & { readonly agentId?: string } = {},
): Promise<void> {
  // A vault that cannot be opened here (a locked file vault, no proxy running) must not kill the server before the
  // client can learn why: every tool then answers with that error and its hint.
  const client: CredentialClient = await openCredentialClient(options).then(
    (opened) => opened.client,
    (e: unknown) => unavailable(toAgentSecretsError(e)),
  );
  const paths = resolveHome(options.env ?? process.env, options.home);
  const server = createMcpServer({
    client,
    auditPath: paths.audit,
    ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
  });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
  await client.close();
}

function unavailable(error: Error): CredentialClient {
  const fail = () => Promise.reject(error);
  return { fetch: fail, listSecrets: fail, status: fail, close: async () => {} };
}
