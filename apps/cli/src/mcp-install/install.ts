import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AgentSecretsError } from '@agentsecrets/errors';
import jsonc from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { type ClientTarget, isMcpClientName, type McpClientName, type ServerCommand } from './clients.js';
import { unifiedDiff } from './diff.js';
import { maskForeignValues } from './mask.js';
import { mergeJsonConfig, SERVER_NAME } from './merge-json.js';
import { mergeTomlConfig } from './merge-toml.js';

/** What installing into one client would change. */
export interface InstallPlan {
  readonly target: ClientTarget;
  /** The file as read, or undefined when it does not exist. */
  readonly before: string | undefined;
  readonly after: string;
  /** False when the server is already registered exactly so: nothing to write. */
  readonly changed: boolean;
  /**
   * A unified diff from `before` to `after` (empty when unchanged), for `--dry-run`: values AgentSecrets did not
   * write are masked, so other servers' credentials in the context lines are not printed.
   */
  readonly diff: string;
  /**
   * The entry stays switched off by the user (`"disabled": true`, or `enabled = false` for Codex): kept as they set
   * it, so the client will not start the server until they switch it on.
   */
  readonly disabled: boolean;
}

/** One file {@link applyInstall} wrote. */
export interface InstallResult {
  readonly path: string;
  /** Where the previous content was saved, or undefined when the file is new. */
  readonly backup: string | undefined;
}

/**
 * The client's config text with the `agentsecrets` server registered, as the client expects it: `mcpServers` (VS
 * Code: `servers`, with `"type": "stdio"`; Claude Code also gets `"type": "stdio"`), or `[mcp_servers.agentsecrets]`
 * for Codex.
 *
 * Nothing else in the file changes: JSONC comments, trailing commas, indentation and line endings are kept, and so
 * are fields the user added to an existing `agentsecrets` entry (`env`, `disabled`, …); only `command`, `args` (and
 * `type`) are rewritten. A missing or empty file gets a minimal document. Idempotent: merging the result again returns
 * it unchanged.
 *
 * @param path - the file's name for error messages (defaults to the client's name)
 * @throws AgentSecretsError CONFIG_INVALID when the file does not parse, or holds the server list in a shape we will
 *   not edit; the message names the file and says nothing was changed. INVALID_ARGUMENT for an unknown client.
 * @example
 * ```ts
 * const next = mergeClientConfig('cursor', readFileSync(p, 'utf8'), { command: '/usr/bin/node', args: [bin, 'mcp', 'serve'] });
 * ```
 */
export function mergeClientConfig(
  client: McpClientName,
  existing: string | undefined,
  server: ServerCommand,
  path: string = client,
): string {
  if (!isMcpClientName(client)) {
    throw new AgentSecretsError('INVALID_ARGUMENT', `unknown MCP client ${String(client)}`);
  }
  if (client === 'codex') return mergeTomlConfig(existing, server, path);
  const typed = client === 'vscode' || client === 'claude-code';
  const env =
    server.env === undefined || Object.keys(server.env).length === 0 ? {} : { env: { ...server.env } };
  const entry = typed
    ? { type: 'stdio', command: server.command, args: [...server.args], ...env }
    : { command: server.command, args: [...server.args], ...env };
  return mergeJsonConfig(existing, client === 'vscode' ? 'servers' : 'mcpServers', entry, path);
}

/**
 * What installing into each target would do, without writing anything. Throws (CONFIG_INVALID) on the first file that
 * cannot be merged, so a broken config stops the whole install before any file is touched.
 *
 * @param read - the file's text, or undefined when it does not exist
 */
export function planInstall(
  targets: readonly ClientTarget[],
  read: (path: string) => string | undefined,
  server: ServerCommand,
): InstallPlan[] {
  return targets.map((target) => {
    const before = read(target.path);
    const after = mergeClientConfig(target.client, before, server, target.path);
    const changed = after !== before;
    const ours = [server.command, ...server.args, 'stdio'];
    const format = target.client === 'codex' ? 'toml' : 'json';
    const diff = changed ? maskForeignValues(unifiedDiff(before, after, target.path), ours, format) : '';
    const entry = registeredEntry(target.client, after);
    const disabled = entry?.disabled === true || entry?.enabled === false;
    return { target, before, after, changed, diff, disabled };
  });
}

/** Our entry in a merged config text (which parses: the mergers checked it). */
function registeredEntry(client: McpClientName, text: string): Record<string, unknown> | undefined {
  const doc = (
    client === 'codex' ? parseToml(text) : jsonc.parse(text, [], { allowTrailingComma: true })
  ) as Record<string, unknown>;
  const key = client === 'codex' ? 'mcp_servers' : client === 'vscode' ? 'servers' : 'mcpServers';
  const entry = (doc[key] as Record<string, unknown> | undefined)?.[SERVER_NAME];
  return typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : undefined;
}

/**
 * Writes every changed plan (unchanged ones are skipped) and returns the files written.
 *
 * For each file: parent directories are created (0700); the file is read again and must still hold what was planned
 * (a client may rewrite its config meanwhile — then nothing is written for it); the new text goes to a temporary file
 * in the same directory (mode of the old file, 0600 for a new one; owner kept when run as root), is fsynced, then the
 * previous bytes are saved as `<file>.agentsecrets-backup` — or `<file>.agentsecrets-backup-<UTC time>` when that
 * exists, so the first backup (the file before AgentSecrets) is never overwritten — and the temporary file is
 * renamed over the config. A symlinked config (dotfiles) is written through the link.
 *
 * @throws AgentSecretsError CONFIG_INVALID naming the file when it changed since it was planned or cannot be written;
 *   files written before it stay written (each one is complete: old or new, never half).
 */
export async function applyInstall(
  plans: readonly InstallPlan[],
  options: { readonly now?: () => Date } = {},
): Promise<InstallResult[]> {
  const now = options.now ?? (() => new Date());
  const written: InstallResult[] = [];
  for (const plan of plans) {
    if (plan.changed) written.push(await applyOne(plan, now));
  }
  return written;
}

// Our own temp+fsync+rename rather than `write-file-atomic`: the backup is saved between the temp file and the rename,
// the file is re-read to check the client did not rewrite it meanwhile, and the directory is fsynced.
async function applyOne(plan: InstallPlan, now: () => Date): Promise<InstallResult> {
  const { path } = plan.target;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const target = await realpath(path).catch(() => path);
    const current = await readFile(target).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (current?.toString('utf8') !== plan.before) {
      throw new AgentSecretsError(
        'CONFIG_INVALID',
        `${path} changed while mcp install ran; it was not written`,
        {
          hint: 'close the client (it may be rewriting its config) and run `agentsecrets mcp install` again',
        },
      );
    }
    const old = current === undefined ? undefined : await stat(target);
    const mode = old === undefined ? 0o600 : old.mode & 0o777;
    const temp = await writeNew(
      dirname(target),
      `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`,
      {
        data: plan.after,
        mode,
        owner: old,
      },
    );
    let backup: string | undefined;
    try {
      if (current !== undefined) backup = await writeBackup(path, current, mode, now());
      await rename(temp, target);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw e;
    }
    await syncDirectory(dirname(target));
    return { path, backup };
  } catch (e) {
    if (e instanceof AgentSecretsError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new AgentSecretsError(
      'CONFIG_INVALID',
      `could not write ${path} (${code}); it was left as it was`,
      {
        hint: `check that you may write to ${dirname(path)}, then run \`agentsecrets mcp install\` again`,
        cause: e,
      },
    );
  }
}

/** Creates `dir/name` exclusively, with exactly `mode` (not the umask's idea of it), and fsyncs it. */
async function writeNew(
  dir: string,
  name: string,
  file: { data: string | Uint8Array; mode: number; owner?: { uid: number; gid: number } | undefined },
): Promise<string> {
  const path = join(dir, name);
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(file.data);
    await handle.chmod(file.mode);
    // As root (sudo), keep the user's file theirs.
    if (file.owner !== undefined && process.getuid?.() === 0) {
      await handle.chown(file.owner.uid, file.owner.gid).catch(() => undefined);
    }
    await handle.sync();
  } catch (e) {
    await handle.close();
    await unlink(path).catch(() => undefined);
    throw e;
  }
  await handle.close();
  return path;
}

async function writeBackup(path: string, bytes: Uint8Array, mode: number, at: Date): Promise<string> {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const candidates = [`${path}.agentsecrets-backup`, `${path}.agentsecrets-backup-${stamp}`];
  for (let n = 1; n < 100; n += 1) candidates.push(`${path}.agentsecrets-backup-${stamp}-${n}`);
  for (const candidate of candidates) {
    try {
      return await writeNew(dirname(candidate), basename(candidate), { data: bytes, mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new AgentSecretsError('CONFIG_INVALID', `too many backups of ${path}`, {
    hint: `remove old ${basename(path)}.agentsecrets-backup-* files, then run \`agentsecrets mcp install\` again`,
  });
}

/** Makes the rename durable. Directories cannot be opened on Windows; there the rename is as durable as it gets. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}
