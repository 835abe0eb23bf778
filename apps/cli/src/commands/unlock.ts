import type { ProxyClient } from '@agentsecrets/proxy/client';
import { Command } from 'commander';
import type { Context } from '../context.js';
import { line, ownerPassphrase, readStdin } from '../io.js';
import { loadProxyClient } from '../lib.js';
import { noProxy } from './proxy.js';

/** The running proxy of this home (locked or not), or PROXY_NOT_RUNNING. */
async function runningProxy(ctx: Context): Promise<ProxyClient> {
  const { connectRunningProxy } = await loadProxyClient();
  const client = await connectRunningProxy(await ctx.paths());
  if (client === undefined) throw noProxy();
  return client;
}

/** The passphrase from stdin: one trailing line break dropped, nothing else touched. */
async function passphraseFromStdin(ctx: Context): Promise<string> {
  const raw = await readStdin(ctx.io.stdin);
  let end = raw.length;
  if (raw[end - 1] === 0x0a) end -= 1;
  if (raw[end - 1] === 0x0d) end -= 1;
  const text = raw.subarray(0, end).toString('utf8');
  raw.fill(0);
  return text;
}

/** `unlock` and `lock`: open or close the file vault of the running proxy (the service). */
export function unlockCommands(ctx: Context): Command[] {
  const unlock = new Command('unlock')
    .description("hand the file vault's passphrase to the running proxy, which opens the vault")
    .option('--stdin', 'read the passphrase from stdin instead of a hidden prompt')
    .addHelpText(
      'after',
      `
The passphrase goes to the proxy over its loopback API with the session token: never in argv or an environment.
A wrong one is refused (PASSPHRASE_INCORRECT); after two in a row, further tries wait (1 s, 2 s, … up to 30 s).

Example:
  agentsecrets service install    # once: the proxy runs for you, locked
  agentsecrets unlock             # after each start of the service (a reboot, a login)`,
    )
    .action(async (opts: { stdin?: boolean }) => {
      const client = await runningProxy(ctx);
      try {
        const vault = await client.vault().catch(() => undefined);
        if (vault === 'open') return line(ctx.io.stdout, 'the vault is open already');
        const passphrase = opts.stdin
          ? await passphraseFromStdin(ctx)
          : await ownerPassphrase(
              ctx.io,
              false,
              'run it in a terminal, or pipe the passphrase: agentsecrets unlock --stdin',
            );
        const changed = await client.unlock(passphrase);
        line(
          ctx.io.stdout,
          changed
            ? `unlocked: the proxy (pid ${client.state.pid}) has opened the vault`
            : 'the vault is open already',
        );
      } finally {
        await client.close();
      }
    });
  const lock = new Command('lock')
    .description('make the running proxy close and forget the opened file vault')
    .addHelpText(
      'after',
      `
Calls then answer VAULT_LOCKED until \`agentsecrets unlock\`. Calls in flight finish.`,
    )
    .action(async () => {
      const client = await runningProxy(ctx);
      try {
        const changed = await client.lock();
        line(
          ctx.io.stdout,
          changed
            ? `locked: the proxy (pid ${client.state.pid}) has closed the vault`
            : 'the vault is locked already',
        );
      } finally {
        await client.close();
      }
    });
  return [unlock, lock];
}
