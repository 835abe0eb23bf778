/**
 * `agentsecrets mcp install`: registers `agentsecrets mcp serve` with the MCP clients on this machine.
 *
 * Pure planning (`clientTargets`, `mergeClientConfig`, `planInstall`) is kept apart from the one function that writes
 * (`applyInstall`), so `--dry-run` and the golden-file tests run the same code as a real install.
 */
export {
  type ClientTarget,
  clientTargets,
  isMcpClientName,
  type MachineFacts,
  MCP_CLIENTS,
  type McpClientName,
  type ServerCommand,
} from './clients.js';
export {
  applyInstall,
  type InstallPlan,
  type InstallResult,
  mergeClientConfig,
  planInstall,
} from './install.js';
export { resolveServerCommand, type ServerCommandOptions } from './server-command.js';
