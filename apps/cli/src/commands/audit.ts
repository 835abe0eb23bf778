import { verifyAuditLog } from '@agentsecrets/core';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { colours, json, line } from '../io.js';

/** `audit verify`. */
export function registerAudit(program: Command, ctx: Context): void {
  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description('check the hash chain and name the first altered, missing or reordered line')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const result = await verifyAuditLog(ctx.paths.audit);
      if (opts.json) json(ctx.io.stdout, result);
      const c = colours(ctx.io.stdout, ctx.io.env);
      if (result.ok) {
        if (!opts.json)
          line(
            ctx.io.stdout,
            `${c.green('✓')} audit log intact: ${result.lines} lines${result.anchored ? ' (older rotated files were dropped; checked from the oldest kept line)' : ''}`,
          );
        return;
      }
      const bad = result.firstBad!;
      if (!opts.json)
        line(ctx.io.stdout, `${c.red('✗')} audit log broken at ${bad.file}:${bad.line}: ${bad.reason}`);
      process.exitCode = 1;
    });
}
