#!/usr/bin/env node
import { VERSION } from './version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  // Answered before commander and the command modules load: what commander would print, at the cost of node alone.
  process.stdout.write(`${VERSION}\n`);
} else {
  const [{ realpathSync }, { fileURLToPath }, { Context }, { run }] = await Promise.all([
    import('node:fs'),
    import('node:url'),
    import('./context.js'),
    import('./program.js'),
  ]);
  const ctx = new Context({
    // Opened only when a command reads it: opening it (a pipe, a terminal) costs more than the rest of `--version`.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });

  // A reader that stops early (`agentsecrets … | head`) is not an error: the run ends with the exit code it has so far.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(ctx.exitCode);
      throw e;
    });
  }

  process.exitCode = await run(ctx, argv, realpathSync(fileURLToPath(import.meta.url)));
}
