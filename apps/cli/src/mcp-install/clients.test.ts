import { describe, expect, it } from 'vitest';
import { type ClientTarget, clientTargets, MCP_CLIENTS, type McpClientName } from './index.js';

const none = () => false;
const byClient = (targets: ClientTarget[]) =>
  Object.fromEntries(targets.map((t) => [t.client, t])) as Record<McpClientName, ClientTarget>;

describe('clientTargets', () => {
  it('lists every client once, in order, with its format', () => {
    const targets = clientTargets({ home: '/home/me', platform: 'linux', cwd: '/w' }, none);
    expect(targets.map((t) => t.client)).toEqual([...MCP_CLIENTS]);
    expect(targets.filter((t) => t.format === 'toml').map((t) => t.client)).toEqual(['codex']);
  });

  it('linux: app configs under ~/.config (or $XDG_CONFIG_HOME), the rest under home', () => {
    const paths = (xdg?: string) =>
      Object.fromEntries(
        clientTargets(
          {
            home: '/home/me',
            platform: 'linux',
            cwd: '/w',
            ...(xdg === undefined ? {} : { xdgConfigHome: xdg }),
          },
          none,
        ).map((t) => [t.client, t.path]),
      );
    expect(paths()).toEqual({
      'claude-desktop': '/home/me/.config/Claude/claude_desktop_config.json',
      'claude-code': '/home/me/.claude.json',
      cursor: '/home/me/.cursor/mcp.json',
      vscode: '/home/me/.config/Code/User/mcp.json',
      windsurf: '/home/me/.codeium/windsurf/mcp_config.json',
      codex: '/home/me/.codex/config.toml',
      gemini: '/home/me/.gemini/settings.json',
    });
    expect(paths('/xdg')).toMatchObject({
      'claude-desktop': '/xdg/Claude/claude_desktop_config.json',
      vscode: '/xdg/Code/User/mcp.json',
    });
  });

  it('darwin: app configs under ~/Library/Application Support', () => {
    const t = byClient(clientTargets({ home: '/Users/me', platform: 'darwin', cwd: '/w' }, none));
    expect(t['claude-desktop'].path).toBe(
      '/Users/me/Library/Application Support/Claude/claude_desktop_config.json',
    );
    expect(t.vscode.path).toBe('/Users/me/Library/Application Support/Code/User/mcp.json');
    expect(t.cursor.path).toBe('/Users/me/.cursor/mcp.json');
    expect(t.codex.path).toBe('/Users/me/.codex/config.toml');
  });

  it('win32: app configs under %APPDATA%, Windows separators everywhere', () => {
    const facts = { home: 'C:\\Users\\me', platform: 'win32' as const, cwd: 'C:\\w' };
    const t = byClient(clientTargets({ ...facts, appData: 'D:\\Roaming' }, none));
    expect(t['claude-desktop'].path).toBe('D:\\Roaming\\Claude\\claude_desktop_config.json');
    expect(t.vscode.path).toBe('D:\\Roaming\\Code\\User\\mcp.json');
    expect(t['claude-code'].path).toBe('C:\\Users\\me\\.claude.json');
    expect(t.windsurf.path).toBe('C:\\Users\\me\\.codeium\\windsurf\\mcp_config.json');
    expect(t.gemini.path).toBe('C:\\Users\\me\\.gemini\\settings.json');
    const fallback = byClient(clientTargets(facts, none));
    expect(fallback['claude-desktop'].path).toBe(
      'C:\\Users\\me\\AppData\\Roaming\\Claude\\claude_desktop_config.json',
    );
  });

  it('follows CLAUDE_CONFIG_DIR and CODEX_HOME', () => {
    const t = byClient(
      clientTargets(
        {
          home: '/home/me',
          platform: 'linux',
          cwd: '/w',
          claudeConfigDir: '/cfg/claude',
          codexHome: '/cfg/codex',
        },
        (p) => p === '/cfg/claude',
      ),
    );
    expect(t['claude-code']).toMatchObject({ path: '/cfg/claude/.claude.json', installed: true });
    expect(t.codex).toMatchObject({ path: '/cfg/codex/config.toml', installed: false });
  });

  it('counts a client as installed when its directory or its config file exists', () => {
    const present = new Set([
      '/home/me/.cursor',
      '/home/me/.claude.json',
      '/home/me/.config/Code',
      '/home/me/.codex/config.toml',
    ]);
    const installed = clientTargets({ home: '/home/me', platform: 'linux', cwd: '/w' }, (p) => present.has(p))
      .filter((t) => t.installed)
      .map((t) => t.client);
    expect(installed).toEqual(['claude-code', 'cursor', 'vscode', 'codex']);
    const viaDir = clientTargets(
      { home: '/home/me', platform: 'linux', cwd: '/w' },
      (p) => p === '/home/me/.claude',
    );
    expect(viaDir.filter((t) => t.installed).map((t) => t.client)).toEqual(['claude-code']);
  });
});
