import { existsSync, realpathSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve, sep } from 'node:path';
import { AgentSecretsError } from '@agentsecrets/errors';
import type { ServerCommand } from './clients.js';

/** What {@link resolveServerCommand} looks at besides the CLI's entry file; defaults are this process's. */
export interface ServerCommandOptions {
  /** The Node binary to run; default `process.execPath`. */
  readonly execPath?: string;
  /** `PATH`, searched for a stable link to the same Node binary; default `process.env.PATH`. */
  readonly pathEnv?: string;
}

// pnpm keeps a package under node_modules/.pnpm/<name>@<version>/node_modules/<name>/ and links
// node_modules/<name> to it: the link survives an upgrade, the versioned directory does not.
const PNPM_STORE = /^(.*)[\\/]\.pnpm[\\/][^\\/]+[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)([\\/].+)$/;

/**
 * The command MCP clients should run: absolute paths only (GUI apps such as Claude Desktop start servers without the
 * shell's PATH), and upgrade-proof — `npm i -g agentsecrets@next` and a Node upgrade must not break the registration.
 *
 * - The entry file is the real path of `binPath` (a global install's `bin` symlink resolved), except inside a pnpm
 *   store, where the version-free `node_modules/<name>` link is kept when it leads to the same file.
 * - Node is `process.execPath`, except when a `node` on PATH is a link to that same binary (Homebrew's
 *   `/opt/homebrew/bin/node` → `Cellar/node/<version>/bin/node`): then the link, which follows upgrades.
 *
 * @param binPath - the CLI's entry file (`dist/bin.js`)
 * @throws AgentSecretsError INVALID_ARGUMENT when `binPath` does not exist
 * @example
 * ```ts
 * resolveServerCommand('/usr/local/lib/node_modules/agentsecrets/dist/bin.js');
 * // { command: '/usr/local/bin/node', args: ['/usr/local/lib/node_modules/agentsecrets/dist/bin.js', 'mcp', 'serve'] }
 * ```
 */
export function resolveServerCommand(binPath: string, options: ServerCommandOptions = {}): ServerCommand {
  const absolute = resolve(binPath);
  let bin: string;
  try {
    bin = realpathSync(absolute);
  } catch {
    throw new AgentSecretsError('INVALID_ARGUMENT', `the CLI entry file ${absolute} does not exist`, {
      hint: 'run `agentsecrets mcp install` from an installed agentsecrets',
    });
  }
  const store = PNPM_STORE.exec(bin);
  if (store !== null) {
    const link = `${store[1]}${sep}${store[2]}${store[3]}`;
    if (sameFile(link, bin)) bin = link;
  }
  return {
    command: stableNode(options.execPath ?? process.execPath, options.pathEnv ?? process.env.PATH),
    args: [bin, 'mcp', 'serve'],
  };
}

function sameFile(candidate: string, real: string): boolean {
  try {
    return realpathSync(candidate) === real;
  } catch {
    return false;
  }
}

function stableNode(execPath: string, pathEnv: string | undefined): string {
  const exec = resolve(execPath);
  let real: string;
  try {
    real = realpathSync(exec);
  } catch {
    return exec;
  }
  const names = process.platform === 'win32' ? ['node.exe'] : ['node'];
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    for (const name of names) {
      const candidate = join(dir, name);
      if (existsSync(candidate) && sameFile(candidate, real)) return candidate;
    }
  }
  return exec;
}
