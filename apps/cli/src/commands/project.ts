import { Command } from 'commander';
import type { Context } from '../context.js';
import { json, line } from '../io.js';

/** `project create|list|use|delete`. */
export function projectCommand(ctx: Context): Command {
  const project = new Command('project').description('create, list, switch or delete projects');
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
      const core = await ctx.core(undefined, { readOnly: true });
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
  return project;
}
