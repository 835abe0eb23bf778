import { toAgentSecretsError } from '@agentsecrets/errors';
import { Command } from 'commander';
import type { Context } from '../context.js';
import { json, line, table } from '../io.js';

/** The team-sync part of `status`: who is logged in where, and whether the workspace key awaits rotation. */
interface TeamStatus {
  readonly server: string;
  readonly email: string;
  readonly workspace: string | null;
  readonly rotationPending: boolean;
  readonly error?: string;
}

async function teamStatus(ctx: Context): Promise<TeamStatus | null> {
  const core = await ctx.core().catch(() => undefined);
  const state = await core?.team.state().catch(() => undefined);
  if (core === undefined || state === undefined) return null;
  const base: TeamStatus = {
    server: state.server,
    email: state.email,
    workspace: null,
    rotationPending: false,
  };
  if (state.workspaceId === null) return base;
  try {
    const ws = (await core.team.workspaces()).find((w) => w.id === state.workspaceId);
    return { ...base, workspace: ws?.name ?? null, rotationPending: ws?.rotationPending ?? false };
  } catch (e) {
    return { ...base, error: `server not reachable or session expired: ${toAgentSecretsError(e).code}` };
  }
}

/** `status`: vault, workspace, project, proxy, last sync and team. */
export function statusCommand(ctx: Context): Command {
  return new Command('status')
    .description('vault backend, workspace, project, proxy and last sync')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const client = await ctx.client();
      const s = await client.status();
      const team = await teamStatus(ctx);
      if (opts.json) return json(ctx.io.stdout, { ...s, team });
      line(
        ctx.io.stdout,
        table([
          ['home', s.home],
          ['vault', s.backend],
          ['workspace', `${s.workspace.name} (${s.workspace.kind})`],
          ['project', s.project.name],
          ['secrets', String(s.secrets)],
          ['allowlist', `${s.allowlist} entries`],
          ['proxy', s.proxy ? `running at ${s.proxy.url} (pid ${s.proxy.pid})` : 'not running'],
          ['last sync', s.lastSync ?? 'never (local mode)'],
          [
            'team',
            team === null
              ? 'not logged in (local mode)'
              : `${team.email} at ${team.server}${team.workspace ? `, workspace ${team.workspace}` : ''}${team.rotationPending ? ' — key rotation pending' : ''}${team.error ? ` (${team.error})` : ''}`,
          ],
        ]),
      );
    });
}
