import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { copyFile, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AgentSecretsError } from '@agentsecrets/core';
import jsonc from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';

/** The MCP clients `mcp install` knows. */
export type McpClientName =
  | 'claude-desktop'
  | 'claude-code'
  | 'cursor'
  | 'vscode'
  | 'windsurf'
  | 'codex'
  | 'gemini';

/** Every client, in the order they are listed. */
export const MCP_CLIENTS: readonly McpClientName[] = [
  'claude-desktop',
  'claude-code',
  'cursor',
  'vscode',
  'windsurf',
  'codex',
  'gemini',
];

/** The command a client runs to start the server. */
export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/** Where a client keeps its MCP configuration, and whether the client seems installed. */
export interface ClientTarget {
  readonly client: McpClientName;
  readonly path: string;
  readonly format: 'json' | 'toml';
  readonly installed: boolean;
}

/** What installing into one client would change. */
export interface InstallPlan {
  readonly target: ClientTarget;
  readonly before: string | undefined;
  readonly after: string;
  readonly changed: boolean;
  readonly diff: string;
}

/** The machine facts the config locations depend on. */
export interface MachineFacts {
  readonly home: string;
  readonly platform: NodeJS.Platform;
  readonly appData?: string;
  readonly xdgConfigHome?: string;
  readonly cwd: string;
}

const SERVER_NAME = 'agentsecrets';

/**
 * Config locations (user scope) as each client documents them:
 * Claude Desktop `claude_desktop_config.json` (key `mcpServers`) in the Claude app config dir; Claude Code
 * `~/.claude.json` (`mcpServers`, entries with `"type": "stdio"`); Cursor `~/.cursor/mcp.json` (`mcpServers`);
 * VS Code user `mcp.json` (`servers`, `"type": "stdio"`); Windsurf `~/.codeium/windsurf/mcp_config.json`
 * (`mcpServers`); Codex `~/.codex/config.toml` (`[mcp_servers.NAME]`); Gemini CLI `~/.gemini/settings.json`
 * (`mcpServers`). A client counts as installed when its config directory (or file) exists.
 */
export function clientTargets(facts: MachineFacts, exists: (path: string) => boolean): ClientTarget[] {
  const { home, platform } = facts;
  const appData = facts.appData ?? join(home, 'AppData', 'Roaming');
  const xdg = facts.xdgConfigHome ?? join(home, '.config');
  const appDir = (name: string) =>
    platform === 'darwin'
      ? join(home, 'Library', 'Application Support', name)
      : platform === 'win32'
        ? join(appData, name)
        : join(xdg, name);
  const claudeDir = appDir('Claude');
  const codeUserDir = join(appDir('Code'), 'User');
  const list: [McpClientName, string, string, 'json' | 'toml'][] = [
    ['claude-desktop', join(claudeDir, 'claude_desktop_config.json'), claudeDir, 'json'],
    ['claude-code', join(home, '.claude.json'), join(home, '.claude'), 'json'],
    ['cursor', join(home, '.cursor', 'mcp.json'), join(home, '.cursor'), 'json'],
    ['vscode', join(codeUserDir, 'mcp.json'), codeUserDir, 'json'],
    [
      'windsurf',
      join(home, '.codeium', 'windsurf', 'mcp_config.json'),
      join(home, '.codeium', 'windsurf'),
      'json',
    ],
    ['codex', join(home, '.codex', 'config.toml'), join(home, '.codex'), 'toml'],
    ['gemini', join(home, '.gemini', 'settings.json'), join(home, '.gemini'), 'json'],
  ];
  return list.map(([client, path, marker, format]) => ({
    client,
    path,
    format,
    installed: exists(marker) || exists(path),
  }));
}

/** An absolute, upgrade-proof command: this Node binary and the real path of the CLI's entry file. */
export function resolveServerCommand(binPath: string): ServerCommand {
  let real = resolve(binPath);
  try {
    real = realpathSync(real);
  } catch {
    // keep the resolved path
  }
  return { command: process.execPath, args: [real, 'mcp', 'serve'] };
}

function invalidConfig(path: string, what: string): AgentSecretsError {
  return new AgentSecretsError('CONFIG_INVALID', `${path} is not valid ${what}; nothing was changed`, {
    hint: 'fix the file by hand (or move it aside) and run `agentsecrets mcp install` again',
  });
}

function detectIndent(text: string): { insertSpaces: boolean; tabSize: number } {
  const m = /\n([ \t]+)["}]/.exec(text);
  if (m?.[1]?.startsWith('\t')) return { insertSpaces: false, tabSize: 1 };
  return { insertSpaces: true, tabSize: m?.[1]?.length ?? 2 };
}

function mergeJson(
  client: McpClientName,
  existing: string | undefined,
  server: ServerCommand,
  path: string,
): string {
  const key = client === 'vscode' ? 'servers' : 'mcpServers';
  const entry: Record<string, unknown> =
    client === 'vscode' || client === 'claude-code'
      ? { type: 'stdio', command: server.command, args: [...server.args] }
      : { command: server.command, args: [...server.args] };
  const text = existing === undefined || existing.trim() === '' ? '{}\n' : existing;
  const errors: jsonc.ParseError[] = [];
  const parsed: unknown = jsonc.parse(text, errors, { allowTrailingComma: true });
  if (errors.length > 0 || parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidConfig(path, 'JSON');
  }
  const current = (parsed as Record<string, Record<string, unknown> | undefined>)[key]?.[SERVER_NAME];
  if (JSON.stringify(current) === JSON.stringify(entry)) return text;
  const { insertSpaces, tabSize } = detectIndent(text);
  const edits = jsonc.modify(text, [key, SERVER_NAME], entry, {
    formattingOptions: { insertSpaces, tabSize, eol: text.includes('\r\n') ? '\r\n' : '\n' },
  });
  const out = jsonc.applyEdits(text, edits);
  return out.endsWith('\n') ? out : `${out}\n`;
}

function tomlString(value: string): string {
  return JSON.stringify(value);
}

function mergeToml(existing: string | undefined, server: ServerCommand, path: string): string {
  const text = existing ?? '';
  try {
    parseToml(text);
  } catch {
    throw invalidConfig(path, 'TOML');
  }
  const table = [
    `[mcp_servers.${SERVER_NAME}]`,
    `command = ${tomlString(server.command)}`,
    `args = [${server.args.map(tomlString).join(', ')}]`,
  ].join('\n');
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `[mcp_servers.${SERVER_NAME}]`);
  let out: string;
  if (start < 0) {
    const base = text.replace(/\s*$/, '');
    out = `${base}${base === '' ? '' : '\n\n'}${table}\n`;
  } else {
    let end = start + 1;
    while (end < lines.length && !/^\s*\[/.test(lines[end]!)) end += 1;
    // Keep blank lines and comments that belong to the next table.
    while (end > start + 1 && (lines[end - 1]!.trim() === '' || lines[end - 1]!.trim().startsWith('#')))
      end -= 1;
    out = [...lines.slice(0, start), table, ...lines.slice(end)].join('\n');
    if (!out.endsWith('\n')) out += '\n';
  }
  parseToml(out);
  return out;
}

/**
 * The client's config with the `agentsecrets` server registered: nothing else changes (JSONC comments and
 * formatting are kept; TOML is edited as text, so its comments are kept too). Idempotent. An unparsable file is
 * CONFIG_INVALID and left alone.
 */
export function mergeClientConfig(
  client: McpClientName,
  existing: string | undefined,
  server: ServerCommand,
  path: string = client,
): string {
  return client === 'codex' ? mergeToml(existing, server, path) : mergeJson(client, existing, server, path);
}

/** A small unified-style line diff (longest common subsequence). */
export function lineDiff(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i += 1;
      j += 1;
    } else if (j < b.length && (i >= a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(`+ ${b[j]}`);
      j += 1;
    } else {
      out.push(`- ${a[i]}`);
      i += 1;
    }
  }
  return out.join('\n');
}

/** What installing into each target would do. */
export function planInstall(
  targets: readonly ClientTarget[],
  read: (path: string) => string | undefined,
  server: ServerCommand,
): InstallPlan[] {
  return targets.map((target) => {
    const before = read(target.path);
    const after = mergeClientConfig(target.client, before, server, target.path);
    return { target, before, after, changed: after !== before, diff: lineDiff(before ?? '', after) };
  });
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.agentsecrets.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
}

/**
 * Writes each plan: a backup of the previous file (`<file>.agentsecrets-backup`), then the new content atomically
 * (temp file in the same directory, fsync, rename), keeping the file's mode (0600 for a new file).
 */
export async function applyInstall(
  plans: readonly InstallPlan[],
): Promise<{ path: string; backup: string | undefined }[]> {
  const written: { path: string; backup: string | undefined }[] = [];
  for (const plan of plans) {
    const { path } = plan.target;
    await mkdir(dirname(path), { recursive: true });
    const mode = await stat(path).then(
      (s) => s.mode & 0o777,
      () => 0o600,
    );
    let backup: string | undefined;
    if (plan.before !== undefined) {
      backup = `${path}.agentsecrets-backup`;
      await copyFile(path, backup);
    }
    await writeAtomic(path, plan.after, mode);
    written.push({ path, backup });
  }
  return written;
}
