import { basename } from 'node:path';
import {
  type BackendName,
  createAgentSecrets,
  initAgentSecrets,
  loadConfig,
  probeOsKeychain,
  projectNameFrom,
  toAgentSecretsError,
} from '@agentsecrets/core';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { colours, json, line, ownerPassphrase, table, usage } from '../io.js';

const BACKENDS: readonly BackendName[] = ['os', 'file', 'memory'];

async function chooseBackend(ctx: Context, requested: string | undefined): Promise<BackendName> {
  const name = requested ?? ctx.io.env.AGENTSECRETS_KEYCHAIN;
  if (name !== undefined && name !== '') {
    if (!BACKENDS.includes(name as BackendName))
      throw usage(`unknown keychain "${name}"`, 'use os, file or memory');
    return name as BackendName;
  }
  // A keychain that answers is the default; without one, init chooses the encrypted file vault (it is unlocked by
  // the owner passphrase being chosen right now) — never a plaintext store.
  return (await probeOsKeychain()) ? 'os' : 'file';
}

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

/** `init`, `status`, `project`. */
export function registerSetup(program: Command, ctx: Context): void {
  program
    .command('init')
    .description('set up the local vault and link the current directory to a project')
    .option('--yes', 'accept the defaults without asking')
    .option(
      '--keychain <backend>',
      'vault backend: os (system keychain), file (encrypted file), memory (tests)',
    )
    .option('--project <name>', 'project name (default: the directory name)')
    .addHelpText(
      'after',
      '\nExamples:\n  agentsecrets init\n  AGENTSECRETS_PASSPHRASE=… agentsecrets init --yes --keychain file',
    )
    .action(async (opts: { yes?: boolean; keychain?: string; project?: string }) => {
      const { io } = ctx;
      const c = colours(io.stdout, io.env);
      const backend = await chooseBackend(ctx, opts.keychain);
      const firstRun = await loadConfig(ctx.paths).then(
        () => false,
        () => true,
      );
      const passphrase = firstRun && !opts.yes ? await ownerPassphrase(io, true) : await ctx.passphrase();
      const result = await initAgentSecrets({
        env: io.env,
        cwd: io.cwd,
        passphrase,
        keychain: backend,
        projectName: opts.project ?? projectNameFrom(basename(io.cwd)),
      });
      // Open the store once so a vault that cannot work is reported now, not at the first call.
      const core = await createAgentSecrets({ env: io.env, cwd: io.cwd, passphrase });
      await core.close();
      line(
        io.stdout,
        `${c.green('✓')} AgentSecrets ${result.created ? 'is set up' : 'project linked'} in ${result.home}`,
      );
      line(
        io.stdout,
        `  vault:   ${backend}${backend === 'file' ? ` (${ctx.paths.vault}, unlocked by the owner passphrase)` : ''}`,
      );
      line(io.stdout, `  project: ${result.project.name} (linked by ${result.linkPath})`);
      line(io.stdout, '');
      line(
        io.stdout,
        'Next: agentsecrets secrets set STRIPE_KEY   then   agentsecrets allowlist add api.stripe.com',
      );
    });

  program
    .command('status')
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

  const project = program.command('project').description('create, list, switch or delete projects');
  project
    .command('create <name>')
    .description('create a project in the current workspace')
    .action(async (name: string) => {
      const created = await (await ctx.core()).projects.create(name);
      line(
        ctx.io.stdout,
        `created project ${created.name}; use it with \`agentsecrets project use ${created.name}\``,
      );
    });
  project
    .command('list')
    .description('list the projects of the current workspace')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const core = await ctx.core();
      const projects = core.projects.list();
      if (opts.json)
        return json(
          ctx.io.stdout,
          projects.map((p) => ({ ...p, current: p.id === core.project.id })),
        );
      for (const p of projects) line(ctx.io.stdout, `${p.id === core.project.id ? '*' : ' '} ${p.name}`);
    });
  project
    .command('use <name>')
    .description('make a project the default where no project link applies')
    .action(async (name: string) => {
      const used = await (await ctx.core()).projects.use(name);
      line(ctx.io.stdout, `now using project ${used.name} where no .agentsecrets/project.json applies`);
    });
  project
    .command('delete <name>')
    .description('delete a project and its secrets (owner passphrase)')
    .action(async (name: string) => {
      const core = await ctx.core();
      await core.projects.delete(name, await ctx.owner());
      line(ctx.io.stdout, `deleted project ${name} and its secrets`);
    });
}
