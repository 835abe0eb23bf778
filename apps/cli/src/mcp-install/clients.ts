import { posix, win32 } from 'node:path';

/** The MCP clients `mcp install` knows, by the name `--client` takes. */
export type McpClientName =
  | 'claude-desktop'
  | 'claude-code'
  | 'cursor'
  | 'vscode'
  | 'windsurf'
  | 'codex'
  | 'gemini';

/** Every client `mcp install` knows, in the order they are listed and installed. */
export const MCP_CLIENTS: readonly McpClientName[] = [
  'claude-desktop',
  'claude-code',
  'cursor',
  'vscode',
  'windsurf',
  'codex',
  'gemini',
];

/** The command an MCP client runs to start the AgentSecrets server. */
export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
  /**
   * Environment the client must start the server with: `AGENTSECRETS_HOME` when a home other than
   * `~/.agentsecrets` is in use (a client starts servers without the shell's environment). Merged into the entry's
   * `env`: variables the user set there stay.
   */
  readonly env?: Readonly<Record<string, string>>;
}

/** Where a client keeps its user-level MCP configuration, and whether the client looks installed here. */
export interface ClientTarget {
  readonly client: McpClientName;
  /** The config file (it may not exist yet). */
  readonly path: string;
  readonly format: 'json' | 'toml';
  /** The client's own config directory (or the file itself) exists. */
  readonly installed: boolean;
}

/** The machine facts the config locations depend on; the CLI fills them from `os.homedir()` and the environment. */
export interface MachineFacts {
  readonly home: string;
  readonly platform: NodeJS.Platform;
  /** `%APPDATA%` on Windows; defaults to `<home>\AppData\Roaming`. */
  readonly appData?: string;
  /** `$XDG_CONFIG_HOME` on Linux; defaults to `<home>/.config`. */
  readonly xdgConfigHome?: string;
  /** `$CLAUDE_CONFIG_DIR`: Claude Code then keeps `.claude.json` in that directory instead of the home directory. */
  readonly claudeConfigDir?: string;
  /** `$CODEX_HOME`: Codex then reads `config.toml` there instead of `~/.codex`. */
  readonly codexHome?: string;
  /** Reserved for project-scoped configs (`.vscode/mcp.json`, `.cursor/mcp.json`); only user scope is written today. */
  readonly cwd: string;
}

/**
 * Where each client keeps its user-level MCP servers, and which directory shows it is installed. Sources:
 * Claude Desktop — modelcontextprotocol.io quickstart (user) and playwright.dev/mcp/clients/claude-desktop;
 * Claude Code — code.claude.com/docs/en/mcp (scopes: user scope is the top-level `mcpServers` of `~/.claude.json`,
 * local scope lives under `projects[path]` and is left alone), `CLAUDE_CONFIG_DIR` moves that file;
 * VS Code — code.visualstudio.com/docs/copilot/reference/mcp-configuration (`servers`, `type` required);
 * Cursor — cursor.com/docs/mcp; Windsurf — docs.windsurf.com/windsurf/cascade/mcp;
 * Codex — developers.openai.com/codex/mcp and /codex/environment-variables (`CODEX_HOME`, default `~/.codex`);
 * Gemini CLI — github.com/google-gemini/gemini-cli docs/tools/mcp-server.md and docs/cli/configuration.md.
 *
 * | client         | file                                                                  | key / table                  |
 * | -------------- | --------------------------------------------------------------------- | ---------------------------- |
 * | claude-desktop | `claude_desktop_config.json` in `~/Library/Application Support/Claude` (macOS), `%APPDATA%\Claude` (Windows), `$XDG_CONFIG_HOME/Claude` (Linux builds) | `mcpServers` |
 * | claude-code    | `~/.claude.json` (or `$CLAUDE_CONFIG_DIR/.claude.json`), user scope = top-level key | `mcpServers`, `"type": "stdio"` |
 * | cursor         | `~/.cursor/mcp.json`                                                  | `mcpServers`                 |
 * | vscode         | `mcp.json` in the VS Code user dir (`Code/User` under the app config dir) | `servers`, `"type": "stdio"` |
 * | windsurf       | `~/.codeium/windsurf/mcp_config.json`                                 | `mcpServers`                 |
 * | codex          | `~/.codex/config.toml` (or `$CODEX_HOME/config.toml`)                  | `[mcp_servers.NAME]`         |
 * | gemini         | `~/.gemini/settings.json`                                             | `mcpServers`                 |
 *
 * A client counts as installed when its own directory exists (`~/.claude` for Claude Code, the app directory for
 * Claude Desktop and VS Code), or when the config file itself does.
 */
const CLIENT_LAYOUT: Record<
  McpClientName,
  (dirs: {
    readonly join: (...parts: string[]) => string;
    readonly home: string;
    readonly appDir: (name: string) => string;
    readonly facts: MachineFacts;
  }) => { readonly file: string; readonly markers: readonly string[]; readonly format: 'json' | 'toml' }
> = {
  'claude-desktop': ({ join, appDir }) => ({
    file: join(appDir('Claude'), 'claude_desktop_config.json'),
    markers: [appDir('Claude')],
    format: 'json',
  }),
  'claude-code': ({ join, home, facts }) =>
    facts.claudeConfigDir === undefined
      ? { file: join(home, '.claude.json'), markers: [join(home, '.claude')], format: 'json' }
      : {
          file: join(facts.claudeConfigDir, '.claude.json'),
          markers: [facts.claudeConfigDir],
          format: 'json',
        },
  cursor: ({ join, home }) => ({
    file: join(home, '.cursor', 'mcp.json'),
    markers: [join(home, '.cursor')],
    format: 'json',
  }),
  vscode: ({ join, appDir }) => ({
    file: join(appDir('Code'), 'User', 'mcp.json'),
    markers: [appDir('Code')],
    format: 'json',
  }),
  windsurf: ({ join, home }) => ({
    file: join(home, '.codeium', 'windsurf', 'mcp_config.json'),
    markers: [join(home, '.codeium', 'windsurf')],
    format: 'json',
  }),
  codex: ({ join, home, facts }) => {
    const dir = facts.codexHome ?? join(home, '.codex');
    return { file: join(dir, 'config.toml'), markers: [dir], format: 'toml' };
  },
  gemini: ({ join, home }) => ({
    file: join(home, '.gemini', 'settings.json'),
    markers: [join(home, '.gemini')],
    format: 'json',
  }),
};

/**
 * The user-level MCP config of every known client on this machine, in {@link MCP_CLIENTS} order, each marked
 * installed or not. Paths are built with the target platform's separator, so a Windows layout can be computed (and
 * tested) anywhere.
 *
 * @param facts - home directory, platform and the environment overrides the clients honour
 * @param exists - whether a path exists (`fs.existsSync` in the CLI)
 * @example
 * ```ts
 * const targets = clientTargets({ home: os.homedir(), platform: process.platform, cwd: process.cwd() }, existsSync);
 * const installed = targets.filter((t) => t.installed);
 * ```
 */
export function clientTargets(facts: MachineFacts, exists: (path: string) => boolean): ClientTarget[] {
  const path = facts.platform === 'win32' ? win32 : posix;
  const { home } = facts;
  // Electron apps keep their data in the platform's app-data directory: Application Support on macOS, %APPDATA% on
  // Windows, $XDG_CONFIG_HOME (default ~/.config) elsewhere.
  const appRoot =
    facts.platform === 'darwin'
      ? path.join(home, 'Library', 'Application Support')
      : facts.platform === 'win32'
        ? (facts.appData ?? path.join(home, 'AppData', 'Roaming'))
        : (facts.xdgConfigHome ?? path.join(home, '.config'));
  const dirs = {
    join: (...parts: string[]) => path.join(...parts),
    home,
    appDir: (name: string) => path.join(appRoot, name),
    facts,
  };
  return MCP_CLIENTS.map((client) => {
    const { file, markers, format } = CLIENT_LAYOUT[client](dirs);
    return { client, path: file, format, installed: markers.some(exists) || exists(file) };
  });
}

/** True when `name` is one of {@link MCP_CLIENTS}. */
export function isMcpClientName(name: string): name is McpClientName {
  return (MCP_CLIENTS as readonly string[]).includes(name);
}
