import { Command, CommanderError } from 'commander';
import { registerAllowlist } from './commands/allowlist.js';
import { registerAudit } from './commands/audit.js';
import { registerCall } from './commands/call.js';
import { registerEnv } from './commands/env.js';
import { registerMcp } from './commands/mcp.js';
import { registerProxy } from './commands/proxy.js';
import { registerSecrets } from './commands/secrets.js';
import { registerSetup } from './commands/setup.js';
import { registerSync } from './commands/sync.js';
import { Context } from './context.js';
import { type Io, reportError } from './io.js';

/** The CLI's version, printed by --version. */
export const VERSION = '0.1.0';

/** Builds the `agentsecrets` program. `binPath` is this CLI's entry file, for `mcp install` and `proxy --detach`. */
export function buildProgram(ctx: Context, binPath: string): Command {
  const program = new Command('agentsecrets')
    .description('Let AI agents make authenticated calls with credentials they never see.')
    .version(VERSION)
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
  agentsecrets proxy start --detach
  agentsecrets mcp install

Environment: AGENTSECRETS_HOME (default ~/.agentsecrets), AGENTSECRETS_KEYCHAIN (os|file|memory),
AGENTSECRETS_PASSPHRASE (automation only; never put it in an agent's environment), NO_COLOR,
AGENTSECRETS_SERVER (team sync server), AGENTSECRETS_SYNC_PASSWORD (automation only).`,
    );
  registerSetup(program, ctx);
  registerSecrets(program, ctx);
  registerAllowlist(program, ctx);
  registerCall(program, ctx);
  registerProxy(program, ctx, binPath);
  registerAudit(program, ctx);
  registerEnv(program, ctx);
  registerMcp(program, ctx, binPath);
  registerSync(program, ctx);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/**
 * Runs the CLI and returns its exit code: the one top-level place where errors become one line and an exit code.
 */
export async function main(argv: readonly string[], io: Io, binPath: string): Promise<number> {
  const ctx = new Context(io);
  const program = buildProgram(ctx, binPath);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
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
