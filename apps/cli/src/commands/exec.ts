import { Command } from 'commander';
import type { Context } from '../context.js';
import { json, readStdin, usage } from '../io.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/;

/** `exec`: the OpenClaw SecretRef exec provider, releasable values for the ids of a JSON request on stdin. */
export function execCommand(ctx: Context): Command {
  return new Command('exec')
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
      const valid = ids.filter((id) => /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/.test(id));
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
