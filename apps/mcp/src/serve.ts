import type { AgentSecretsOptions } from '@agentsecrets/core';
import { resolveHome } from '@agentsecrets/fs';
import { ReconnectingClient } from './reconnecting-client.js';
import { createMcpServer } from './server.js';
import { LineTransport } from './stdio-transport.js';

/** How long the end of stdin waits for cancelled calls to wind down (audit events written) before returning. */
const CLOSE_GRACE_MS = 3_000;

/**
 * Runs the MCP server over stdio until the client disconnects. Goes through the running proxy when there is one,
 * else opens the vault itself. Nothing but the protocol is written to stdout. Bad input is answered with JSON-RPC
 * errors and never ends the server (see {@link LineTransport}); the end of stdin cancels the calls in flight and
 * returns within a few seconds.
 */
export async function serveStdio(
  options: AgentSecretsOptions & { readonly agentId?: string } = {},
): Promise<void> {
  // A vault that cannot be opened here (a locked file vault, no proxy running) must not kill the server before the
  // client can learn why: every tool then answers with that error and its hint, until a proxy runs.
  const client = new ReconnectingClient(options);
  const paths = resolveHome(options.env ?? process.env, options.home);
  const server = createMcpServer({
    client,
    auditPath: paths.audit,
    ...(options.agentId === undefined ? {} : { agentId: options.agentId }),
  });
  // The client is answered `initialize` before the proxy is looked for or the core loaded: that starts once it says
  // it is initialized, or at the first tool call, whichever comes first.
  server.server.oninitialized = () => client.prepare();
  const transport = new LineTransport(process.stdin, process.stdout);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  await closed;
  // Closing the transport aborted every request handler's signal, which cancels its upstream call; what is left is
  // writing their audit events and closing connections, given a bounded time.
  const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
  await Promise.race([Promise.allSettled([server.close(), client.close()]), grace]);
}
