import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { AgentSecretsError, isSecretName } from '@agentsecrets/core';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { json, readStdin, usage } from '../io.js';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
const ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/;

/** `env -- CMD` and `exec` (the OpenClaw SecretRef exec provider): hand releasable secrets to another process. */
export function registerEnv(program: Command, ctx: Context): void {
  program
    .command('env')
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
              new AgentSecretsError('INVALID_ARGUMENT', `cannot run ${command[0]} (${e.code ?? 'error'})`, {
                hint: 'check the command name and PATH',
              }),
            ),
          );
          child.once('exit', (code, signal) => resolve({ code, signal }));
        },
      ).finally(() => {
        for (const s of FORWARDED) process.off(s, forward);
      });
      await Promise.all(streams);
      process.exitCode = exit.code ?? 128 + (exit.signal ? (constants.signals[exit.signal] ?? 0) : 0);
    });

  program
    .command('exec')
    .description('OpenClaw SecretRef exec provider: JSON request on stdin, releasable values on stdout')
    .addHelpText(
      'after',
      '\nstdin:  {"protocolVersion":1,"provider":"agentsecrets","ids":["NPM_TOKEN"]}\nstdout: {"protocolVersion":1,"values":{"NPM_TOKEN":"…"},"errors":{}}\nOnly releasable secrets are returned; the others come back in "errors".',
    )
    .action(async () => {
      const { io } = ctx;
      let request: unknown;
      try {
        request = JSON.parse((await readStdin(io.stdin)).toString('utf8'));
      } catch {
        throw usage('stdin is not a JSON request', 'send {"protocolVersion":1,"provider":"…","ids":["KEY"]}');
      }
      const r = request as { protocolVersion?: unknown; ids?: unknown };
      if (
        r.protocolVersion !== 1 ||
        !Array.isArray(r.ids) ||
        !r.ids.every((id) => typeof id === 'string' && ID.test(id))
      ) {
        throw usage(
          'the request needs protocolVersion 1 and ids as an array of names',
          'send {"protocolVersion":1,"provider":"…","ids":["KEY"]}',
        );
      }
      const ids = [...new Set(r.ids as string[])];
      const core = await ctx.core();
      const valid = ids.filter((id) => isSecretName(id));
      const release = await core.release(valid, 'exec');
      const values: Record<string, string> = {};
      const errors: Record<string, { message: string; code: string }> = {};
      for (const id of ids) {
        const value = release.values.get(id);
        const error = release.errors.get(id);
        if (value !== undefined) values[id] = value.text();
        else if (error !== undefined) errors[id] = { message: error.message, code: error.code };
        else errors[id] = { message: `${id} is not a secret name`, code: 'INVALID_SECRET_NAME' };
      }
      json(io.stdout, { protocolVersion: 1, values, errors });
    });
}
