import { Command } from 'commander';
import type { Context } from '../context.js';
import { loadService } from '../lib.js';

/** `service install|uninstall|status`: keep the proxy running for this user under systemd or launchd. */
export function serviceCommand(ctx: Context, binPath: string): Command {
  const service = new Command('service').description(
    'keep the proxy running for this user (a systemd user unit on Linux, a launchd agent on macOS)',
  );
  service
    .command('install')
    .description('write the unit (or agent) file and start it now and at every login')
    .option('--port <port>', 'port the proxy listens on (127.0.0.1)', '8765')
    .option('--dry-run', 'print the file without writing it or starting anything')
    .addHelpText(
      'after',
      `
The proxy serves the project of the directory you run this in. With the OS keychain it needs nothing else.
With the file vault it starts locked (no passphrase in the file, argv or environment): type \`agentsecrets unlock\`
after each start; \`agentsecrets lock\` closes the vault again. Logs: journalctl --user -u agentsecrets-proxy (Linux),
$AGENTSECRETS_HOME/proxy.log (macOS).

Example:
  agentsecrets service install && agentsecrets unlock`,
    )
    .action(async (opts: { port: string; dryRun?: boolean }) => {
      const { installService } = await loadService();
      await installService(ctx, binPath, opts);
    });
  service
    .command('uninstall')
    .description('stop the service and remove its file')
    .action(async () => {
      const { uninstallService } = await loadService();
      await uninstallService(ctx);
    });
  service
    .command('status')
    .description('is the service installed, what its manager says, and is the proxy running and unlocked')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { serviceStatus } = await loadService();
      await serviceStatus(ctx, opts);
    });
  return service;
}
