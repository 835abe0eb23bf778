import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { toAgentSecretsError } from '@agentsecrets/errors';
import { Command } from 'commander';
import type { Context } from '../context.js';
import { line, usage } from '../io.js';
import { loadCore, loadMcp, loadMcpInstall } from '../lib.js';
import { MCP_CLIENTS, type McpClientName } from '../mcp-install/clients.js';
import type { InstallPlan } from '../mcp-install/install.js';
import { mcpNextSteps } from './next-step.js';

/** `mcp serve` and `mcp install`. */
export function mcpCommand(ctx: Context, binPath: string): Command {
  const mcp = new Command('mcp').description('the MCP server for Claude, Cursor, VS Code and other agents');
  mcp
    .command('serve')
    .description('run the MCP server over stdio (uses the running proxy when there is one)')
    .action(async () => {
      // Never a prompt here: stdin carries the protocol. A file vault opens with AGENTSECRETS_PASSPHRASE or not at all
      // (then every tool explains how to start the proxy instead).
      const { serveStdio } = await loadMcp();
      await serveStdio({ env: ctx.io.env, cwd: ctx.io.cwd });
    });
  mcp
    .command('install')
    .description('register `agentsecrets mcp serve` with the MCP clients installed here')
    .option('--client <name>', `one of ${MCP_CLIENTS.join(', ')}, or all`)
    .option('--dry-run', 'show what would change without writing')
    .action(async (opts: { client?: string; dryRun?: boolean }) => {
      const { io } = ctx;
      if (
        opts.client !== undefined &&
        opts.client !== 'all' &&
        !MCP_CLIENTS.includes(opts.client as McpClientName)
      ) {
        throw usage(`unknown client ${opts.client}`, `use one of ${MCP_CLIENTS.join(', ')}, or all`);
      }
      const { applyInstall, clientTargets, planInstall, resolveServerCommand } = await loadMcpInstall();
      const all = clientTargets(
        {
          home: io.env.HOME ?? homedir(),
          platform: process.platform,
          cwd: io.cwd,
          ...(io.env.APPDATA === undefined ? {} : { appData: io.env.APPDATA }),
          ...(io.env.XDG_CONFIG_HOME === undefined ? {} : { xdgConfigHome: io.env.XDG_CONFIG_HOME }),
          ...(io.env.CLAUDE_CONFIG_DIR === undefined ? {} : { claudeConfigDir: io.env.CLAUDE_CONFIG_DIR }),
          ...(io.env.CODEX_HOME === undefined ? {} : { codexHome: io.env.CODEX_HOME }),
        },
        existsSync,
      );
      const targets =
        opts.client === undefined
          ? all.filter((t) => t.installed)
          : opts.client === 'all'
            ? all
            : all.filter((t) => t.client === opts.client);
      if (targets.length === 0) {
        throw usage(
          'no supported MCP client is installed here',
          `name one with --client (${MCP_CLIENTS.join(', ')})`,
        );
      }
      const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
      // A client starts the server without this shell's environment: a home other than the default goes in the entry.
      const { resolveHome } = await loadCore();
      const paths = resolveHome(io.env);
      const home = resolve(io.cwd, paths.home);
      const server = {
        ...resolveServerCommand(binPath),
        ...(home === join(io.env.HOME ?? homedir(), '.agentsecrets')
          ? {}
          : { env: { AGENTSECRETS_HOME: home } }),
      };
      // One client's broken config file must not keep the others from being registered: plan each on its own.
      const plans: InstallPlan[] = [];
      for (const target of targets) {
        try {
          plans.push(...planInstall([target], read, server));
        } catch (e) {
          const err = toAgentSecretsError(e);
          line(io.stderr, `${target.client}: skipped — ${err.message}${err.hint ? ` (${err.hint})` : ''}`);
          ctx.exitCode = 1;
        }
      }
      const off = (plan: InstallPlan) =>
        plan.disabled
          ? ` — but the entry is disabled there (you switched it off): enable agentsecrets in ${plan.target.client} to use it`
          : '';
      for (const plan of plans) {
        if (!plan.changed)
          line(io.stdout, `${plan.target.client}: already registered in ${plan.target.path}${off(plan)}`);
        else if (opts.dryRun)
          line(io.stdout, `${plan.target.client}: would change ${plan.target.path}\n${plan.diff}`);
      }
      if (opts.dryRun) return;
      const changed = plans.filter((p) => p.changed);
      const written = await applyInstall(changed);
      for (const [i, w] of written.entries()) {
        const verb = changed[i]!.disabled ? 'updated, still disabled,' : 'registered';
        line(io.stdout, `${verb} in ${w.path}${w.backup ? ` (backup: ${w.backup})` : ''}${off(changed[i]!)}`);
      }
      if (plans.length > 0)
        for (const step of await mcpNextSteps(
          ctx,
          plans.map((p) => p.target.client),
        ))
          line(io.stdout, step);
    });
  return mcp;
}
