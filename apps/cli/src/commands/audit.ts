import { Command } from 'commander';
import type { Context } from '../context.js';
import { colours, json, line } from '../io.js';
import { loadCore } from '../lib.js';

/** `audit verify`. */
export function auditCommand(ctx: Context): Command {
  const audit = new Command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description(
      'check the hash chain: name every altered, missing or reordered line, torn writes, and what retention removed',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { verifyAuditLog } = await loadCore();
      const result = await verifyAuditLog((await ctx.paths()).audit);
      if (opts.json) json(ctx.io.stdout, result);
      if (!result.ok) ctx.exitCode = 1;
      if (opts.json) return;
      const out = ctx.io.stdout;
      const c = colours(out, ctx.io.env);
      if (result.ok) line(out, `${c.green('✓')} audit log intact: ${result.lines} lines`);
      else {
        const [first, ...more] = result.problems ?? [];
        line(out, `${c.red('✗')} audit log broken at ${first?.file}:${first?.line}: ${first?.reason}`);
        for (const p of more.slice(0, 20)) line(out, `  also at ${p.file}:${p.line}: ${p.reason}`);
        if (more.length > 20) line(out, `  and ${more.length - 20} more problems (see --json)`);
      }
      // What the chain can no longer vouch for is said every time, intact or not.
      const u = result.unverifiable;
      if (u !== undefined) {
        line(
          out,
          u.recorded
            ? `  events before ${u.before} cannot be checked: retention removed ${u.removedFiles} older file(s), the last on ${u.lastRemovedAt}`
            : `  events before ${u.before} cannot be checked: older files are gone and no retention record says how; checked from the oldest kept line`,
        );
        if (u.capped)
          line(
            out,
            c.yellow(
              '  ! files younger than the retention age were removed at the size cap: the log was flooded',
            ),
          );
      }
      const torn = result.torn ?? [];
      if (torn.length > 0) {
        line(
          out,
          c.yellow(
            `  ! ${torn.length} torn write(s), left by a process that crashed mid-append (those events are lost): ${torn
              .slice(0, 5)
              .map((t) => `${t.file}:${t.line}`)
              .join(', ')}${torn.length > 5 ? ', …' : ''}`,
          ),
        );
      }
    });
  return audit;
}
