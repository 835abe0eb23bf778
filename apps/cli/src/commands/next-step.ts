import type { Context } from '../context.js';
import { loadCore } from '../lib.js';

/**
 * What to do after `mcp install` for the setup this home has, so a client's "Connected" server also works: with the
 * OS keychain nothing; with the file vault the service and `unlock` (the MCP server cannot ask for a passphrase: its
 * stdin is the protocol); not set up yet, `init`. Plus Gemini CLI's folder trust, which disables MCP servers in
 * folders not trusted yet.
 */
export async function mcpNextSteps(ctx: Context, clients: readonly string[]): Promise<string[]> {
  const { loadConfig } = await loadCore();
  const config = await loadConfig(await ctx.paths()).catch(() => undefined);
  const backend = ctx.io.env.AGENTSECRETS_KEYCHAIN || config?.keychain || 'os';
  const steps = [
    config === undefined
      ? 'next: `agentsecrets init` in your project, then store a secret and allowlist where it may go'
      : backend === 'file'
        ? 'next: `agentsecrets service install` then `agentsecrets unlock` (the file vault: until then every tool answers with what to type)'
        : 'next: nothing — restart the client; the server opens the OS keychain itself',
  ];
  if (clients.includes('gemini')) {
    steps.push(
      'Gemini CLI: with folder trust on, MCP servers are off in folders not trusted yet — choose "Trust folder" when it asks (`gemini mcp list` shows Disabled until then)',
    );
  }
  return steps;
}
