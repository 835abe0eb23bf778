import { basename } from 'node:path';
import type { BackendName } from '@agentsecrets/core';
import { Command } from 'commander';
import type { Context } from '../context.js';
import { colours, line, ownerPassphrase, usage } from '../io.js';
import { loadCore } from '../lib.js';

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
  const { probeOsKeychain } = await loadCore();
  return (await probeOsKeychain()) ? 'os' : 'file';
}

/** `init`: the local vault and a project linked to the current directory. */
export function initCommand(ctx: Context): Command {
  return new Command('init')
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
      const { createAgentSecrets, initAgentSecrets, loadConfig, projectNameFrom } = await loadCore();
      const paths = await ctx.paths();
      const firstRun = await loadConfig(paths).then(
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
        `  vault:   ${backend}${backend === 'file' ? ` (${paths.vault}, unlocked by the owner passphrase)` : ''}`,
      );
      line(io.stdout, `  project: ${result.project.name} (linked by ${result.linkPath})`);
      line(io.stdout, '');
      line(
        io.stdout,
        'Next: agentsecrets secrets set STRIPE_KEY   then   agentsecrets allowlist add api.stripe.com',
      );
    });
}
