#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Context } from './context.js';
import { run } from './program.js';

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

process.exitCode = await run(ctx, process.argv.slice(2), realpathSync(fileURLToPath(import.meta.url)));
