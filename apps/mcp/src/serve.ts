import { type AgentSecretsOptions, openCredentialClient, resolveHome } from '@agentsecrets/core';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer } from './server.js';

/**
 * Runs the MCP server over stdio until the client disconnects. Goes through the running proxy when there is one,
 * else opens the vault itself. Nothing but the protocol is written to stdout.
 */
export async function serveStdio(
  options: AgentSecretsOptions & { readonly agentId?: string } = {},
): Promise<void> {
  const { client } = await openCredentialClient(options);
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
