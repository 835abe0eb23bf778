import { Command, CommanderError } from 'commander';
import { loginCommand, logoutCommand, signupCommand } from './commands/account.js';
import { allowlistCommand } from './commands/allowlist.js';
import { auditCommand } from './commands/audit.js';
import { callCommand } from './commands/call.js';
import { completionCommand } from './commands/completion.js';
import { envCommand } from './commands/env.js';
import { execCommand } from './commands/exec.js';
import { initCommand } from './commands/init.js';
import { mcpCommand } from './commands/mcp.js';
import { projectCommand } from './commands/project.js';
import { proxyCommand } from './commands/proxy.js';
import { runCommand } from './commands/run.js';
import { secretsCommand } from './commands/secrets.js';
import { serviceCommand } from './commands/service.js';
import { statusCommand } from './commands/status.js';
import { unlockCommands } from './commands/unlock.js';
import { workspaceCommand } from './commands/workspace.js';
import { Context } from './context.js';
import { type Io, reportError } from './io.js';

import { VERSION } from './version.js';

export { VERSION };

/** Gives every command below `parent` the settings `.command()` would have copied: output, exit override, help. */
function inheritSettings(parent: Command): void {
  for (const sub of parent.commands) {
    sub.copyInheritedSettings(parent);
    inheritSettings(sub);
  }
}

/**
 * Builds the `agentsecrets` program from one module per command tree. `binPath` is this CLI's entry file, for
 * `mcp install` and `proxy --detach`. Building loads no command's dependencies: each action loads them when it runs.
 */
export function buildProgram(ctx: Context, binPath: string): Command {
  const program = new Command('agentsecrets')
    .description('Let AI agents make authenticated calls with credentials they never see.')
    .version(VERSION, '-v, --version', 'print the version')
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
Quick start:
  agentsecrets init
  agentsecrets secrets set STRIPE_KEY
  agentsecrets allowlist add api.stripe.com
  agentsecrets call --url https://api.stripe.com/v1/balance --bearer STRIPE_KEY
  agentsecrets run -- claude           (an agent in a sandbox, with placeholders for secrets)
  agentsecrets proxy start --detach
  agentsecrets mcp install

Environment: AGENTSECRETS_HOME (default ~/.agentsecrets), AGENTSECRETS_KEYCHAIN (os|file|memory),
AGENTSECRETS_PASSPHRASE (automation only; never put it in an agent's environment), NO_COLOR,
AGENTSECRETS_SERVER (team sync server), AGENTSECRETS_SYNC_PASSWORD (automation only).`,
    );
  for (const command of [
    initCommand(ctx),
    statusCommand(ctx),
    projectCommand(ctx),
    secretsCommand(ctx),
    allowlistCommand(ctx),
    workspaceCommand(ctx, [allowlistCommand(ctx)]),
    callCommand(ctx),
    proxyCommand(ctx, binPath),
    serviceCommand(ctx, binPath),
    ...unlockCommands(ctx),
    auditCommand(ctx),
    envCommand(ctx),
    runCommand(ctx),
    execCommand(ctx),
    mcpCommand(ctx, binPath),
    signupCommand(ctx),
    loginCommand(ctx),
    logoutCommand(ctx),
    completionCommand(ctx, () => program),
  ]) {
    program.addCommand(command);
  }
  inheritSettings(program);
  return program;
}

/**
 * Runs the CLI with `ctx` and returns its exit code: the one place where errors become one line and an exit code.
 * A command that ends without an error reports failure through `ctx.exitCode`.
 */
export async function run(ctx: Context, argv: readonly string[], binPath: string): Promise<number> {
  const { io } = ctx;
  const program = buildProgram(ctx, binPath);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit through here with code 0; usage mistakes were already printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    return reportError(e, io, debug);
  } finally {
    await ctx.close().catch((e: unknown) => reportError(e, io, debug));
  }
}

/** Runs the CLI and returns its exit code. */
export function main(argv: readonly string[], io: Io, binPath: string): Promise<number> {
  return run(new Context(io), argv, binPath);
}
