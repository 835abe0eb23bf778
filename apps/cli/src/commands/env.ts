import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { AgentSecretsError } from '@agentsecrets/errors';
import { Command } from 'commander';
import type { Context } from '../context.js';
import { usage } from '../io.js';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** `env -- CMD`: run a command with the releasable secrets in its environment, its output masked. */
export function envCommand(ctx: Context): Command {
  return new Command('env')
    .description('run a command with the releasable secrets as environment variables, its output masked')
    .option('--only <keys>', 'comma-separated names to pass (default: every releasable secret)')
    .option('--no-mask', 'do not mask the output (only when run from a terminal)')
    .argument('<command...>', 'the command and its arguments, after --')
    .addHelpText(
      'after',
      '\nOnly secrets the owner marked releasable (secrets set --env / secrets release KEY on) are passed.\nExample:\n  agentsecrets env --only NPM_TOKEN -- npm publish',
    )
    .action(async (command: string[], opts: { only?: string; mask: boolean }) => {
      const { io } = ctx;
      if (!opts.mask && !io.stdout.isTTY) {
        throw usage('--no-mask is only allowed when the output goes to a terminal', 'drop --no-mask');
      }
      const names = opts.only
        ?.split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '');
      const core = await ctx.core();
      const release = await core.release(names, 'env');
      const [first] = release.errors.values();
      if (first !== undefined) throw first;
      const env: NodeJS.ProcessEnv = { ...io.env };
      delete env.AGENTSECRETS_PASSPHRASE;
      for (const [name, value] of release.values) env[name] = value.text();
      const redactor = await core.redactor();
      const child = spawn(command[0]!, command.slice(1), {
        env,
        cwd: io.cwd,
        stdio: ['inherit', opts.mask ? 'pipe' : 'inherit', opts.mask ? 'pipe' : 'inherit'],
      });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      for (const s of FORWARDED) process.on(s, forward);
      const streams: Promise<void>[] = [];
      if (opts.mask) {
        // The child holds the values already, so nothing here is an oracle: after a short pause everything it wrote
        // is shown, a prompt without a line ending included.
        const rule = { holdMs: 50, tailBytes: 0 };
        streams.push(pipeline(child.stdout!, redactor.createStream(rule), io.stdout, { end: false }));
        streams.push(pipeline(child.stderr!, redactor.createStream(rule), io.stderr, { end: false }));
      }
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (resolve, reject) => {
          child.once('error', (e: NodeJS.ErrnoException) =>
            reject(
              e.code === 'ENOENT'
                ? new AgentSecretsError('COMMAND_NOT_FOUND', `command not found: ${command[0]}`, {
                    hint: 'check the command name and PATH',
                  })
                : new AgentSecretsError(
                    'INVALID_ARGUMENT',
                    `cannot run ${command[0]} (${e.code ?? 'error'})`,
                    {
                      hint: 'check the command name and PATH',
                    },
                  ),
            ),
          );
          child.once('exit', (code, signal) => resolve({ code, signal }));
        },
      ).finally(() => {
        for (const s of FORWARDED) process.off(s, forward);
      });
      await Promise.all(streams);
      ctx.exitCode = exit.code ?? 128 + (exit.signal ? (constants.signals[exit.signal] ?? 0) : 0);
    });
}
