import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import type { Context } from '../context.js';
import { accountPassword, json, line, table } from '../io.js';
import { loadCore } from '../lib.js';

/**
 * `allowlist add|remove|list|log`. A new tree on each call: the program mounts one at the top and one under
 * `workspace`.
 */
export function allowlistCommand(ctx: Context): Command {
  const allowlist = new Command('allowlist')
    .description('where credentials may be sent: deny by default')
    .addHelpText(
      'after',
      '\nEntries: host, host:port, *.domain (one label), http://host for plain HTTP, IP literals.\nExamples:\n  agentsecrets allowlist add api.stripe.com\n  agentsecrets allowlist add http://127.0.0.1:8080 *.githubusercontent.com',
    );
  allowlist
    .command('add <entries...>')
    .description('owner only: allow destinations (--team: for the whole team workspace, admin only)')
    .option('--team', 'change the team policy (asks for the account password again)')
    .action(async (entries: string[], opts: { team?: boolean }) => {
      const core = await ctx.core();
      if (opts.team) {
        const all = await core.team.changeAllowlist(await accountPassword(ctx.io, false), entries, []);
        return line(ctx.io.stdout, `team allowlist: ${all.join(', ')}`);
      }
      const added = await core.allowlist.add(entries, await ctx.owner());
      line(ctx.io.stdout, `allowed ${added.join(', ')}`);
    });
  allowlist
    .command('remove <entries...>')
    .description('owner only: remove destinations (--team: from the team policy, admin only)')
    .option('--team', 'change the team policy (asks for the account password again)')
    .action(async (entries: string[], opts: { team?: boolean }) => {
      const core = await ctx.core();
      if (opts.team) {
        const all = await core.team.changeAllowlist(await accountPassword(ctx.io, false), [], entries);
        return line(ctx.io.stdout, `team allowlist: ${all.join(', ') || '(empty)'}`);
      }
      const removed = await core.allowlist.remove(entries, await ctx.owner());
      line(
        ctx.io.stdout,
        removed.length ? `removed ${removed.join(', ')}` : 'none of those entries were on the allowlist',
      );
    });
  allowlist
    .command('list')
    .description("the allowlist: this machine's entries and the team's")
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const core = await ctx.core(undefined, { readOnly: true });
      // The team's entries are kept in the vault: read (asking for the passphrase) only where team sync is set up.
      const synced = existsSync(join(core.paths.home, 'sync.json'));
      const team = synced ? await core.team.allowlistEntries() : [];
      const entries = [
        ...(await core.allowlist.list()).map((entry) => ({ entry, source: 'local' })),
        ...team.map((entry) => ({ entry, source: 'team' })),
      ];
      if (opts.json) return json(ctx.io.stdout, entries);
      line(
        ctx.io.stdout,
        entries.length
          ? entries.map((e) => (e.source === 'team' ? `${e.entry}  (team)` : e.entry)).join('\n')
          : 'the allowlist is empty: every call is refused',
      );
    });
  allowlist
    .command('log')
    .description('recent blocked attempts')
    .option('--last <n>', 'how many', '20')
    .option('--json', 'machine-readable output')
    .action(async (opts: { last: string; json?: boolean }) => {
      const { readLast } = await loadCore();
      const { audit } = await ctx.paths();
      const events = await readLast(audit, Number(opts.last) || 20, { status: 'BLOCKED' });
      if (opts.json) return json(ctx.io.stdout, events);
      if (events.length === 0) return line(ctx.io.stdout, 'no blocked attempts');
      line(
        ctx.io.stdout,
        table([
          ['TIME', 'TRANSPORT', 'METHOD', 'TARGET', 'SECRET', 'REASON'],
          ...events.map((e) => [
            e.ts,
            e.transport,
            e.method ?? '-',
            e.target ?? '-',
            e.secret_keys.join(',') || '-',
            e.reason ?? '-',
          ]),
        ]),
      );
    });
  return allowlist;
}
