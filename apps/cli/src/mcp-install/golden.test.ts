import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  applyInstall,
  clientTargets,
  MCP_CLIENTS,
  mergeClientConfig,
  planInstall,
  resolveServerCommand,
  type ServerCommand,
} from './index.js';

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
const SERVER: ServerCommand = {
  command: '/usr/bin/node',
  args: ['/opt/agentsecrets/dist/bin.js', 'mcp', 'serve'],
};

describe('mcp install merges each client format (golden files)', () => {
  for (const client of MCP_CLIENTS) {
    it(client, () => {
      const ext = client === 'codex' ? 'toml' : 'json';
      const input = readFileSync(join(GOLDEN, `${client}.input.${ext}`), 'utf8');
      const out = mergeClientConfig(client, input, SERVER);
      const expectedPath = join(GOLDEN, `${client}.expected.${ext}`);
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(expectedPath)) writeFileSync(expectedPath, out);
      expect(out).toBe(readFileSync(expectedPath, 'utf8'));
      expect(mergeClientConfig(client, out, SERVER)).toBe(out);
    });
  }

  it('creates a minimal file when there is none and refuses a broken one', () => {
    expect(JSON.parse(mergeClientConfig('cursor', undefined, SERVER))).toEqual({
      mcpServers: { agentsecrets: { command: SERVER.command, args: SERVER.args } },
    });
    expect(mergeClientConfig('codex', undefined, SERVER)).toContain('[mcp_servers.agentsecrets]');
    expect(() => mergeClientConfig('gemini', '{ "a": ', SERVER)).toThrow(
      /not valid JSON; nothing was changed/,
    );
    expect(() => mergeClientConfig('codex', 'a = = 1', SERVER)).toThrow(/not valid TOML/);
  });
});

describe('client locations', () => {
  it('follows each platform', () => {
    const has = (p: string) => p.endsWith('.cursor') || p.includes('Claude');
    const linux = clientTargets({ home: '/home/me', platform: 'linux', cwd: '/w' }, has);
    expect(linux.find((t) => t.client === 'claude-desktop')).toMatchObject({
      path: '/home/me/.config/Claude/claude_desktop_config.json',
      installed: true,
    });
    expect(linux.find((t) => t.client === 'vscode')?.path).toBe('/home/me/.config/Code/User/mcp.json');
    expect(linux.find((t) => t.client === 'cursor')).toMatchObject({ installed: true });
    expect(linux.find((t) => t.client === 'codex')).toMatchObject({
      path: '/home/me/.codex/config.toml',
      installed: false,
    });
    const mac = clientTargets({ home: '/Users/me', platform: 'darwin', cwd: '/w' }, () => false);
    expect(mac.find((t) => t.client === 'claude-desktop')?.path).toBe(
      '/Users/me/Library/Application Support/Claude/claude_desktop_config.json',
    );
    const win = clientTargets(
      { home: 'C:\\Users\\me', platform: 'win32', appData: 'C:\\Users\\me\\AppData\\Roaming', cwd: 'C:\\w' },
      () => false,
    );
    expect(win.find((t) => t.client === 'vscode')?.path).toContain(
      join('C:\\Users\\me\\AppData\\Roaming', 'Code', 'User', 'mcp.json'),
    );
  });

  it('resolves an absolute, real command path', () => {
    const cmd = resolveServerCommand('./dist/../dist/bin.js');
    expect(isAbsolute(cmd.command)).toBe(true);
    expect(isAbsolute(cmd.args[0]!)).toBe(true);
    expect(cmd.args.slice(1)).toEqual(['mcp', 'serve']);
  });
});

describe('applying', () => {
  it('writes atomically, keeps the mode and a backup, and is idempotent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'as-mcp-install-'));
    try {
      const path = join(dir, '.cursor', 'mcp.json');
      const before = readFileSync(join(GOLDEN, 'cursor.input.json'), 'utf8');
      await applyInstall(
        planInstall([{ client: 'cursor', path, format: 'json', installed: true }], () => undefined, SERVER),
      );
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      await writeFile(path, before);
      await chmod(path, 0o640);
      const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
      const plans = planInstall([{ client: 'cursor', path, format: 'json', installed: true }], read, SERVER);
      expect(plans[0]!.diff).toContain('+ ');
      const [written] = await applyInstall(plans);
      expect(await readFile(written!.backup!, 'utf8')).toBe(before);
      expect((await stat(path)).mode & 0o777).toBe(0o640);
      expect(await readFile(path, 'utf8')).toContain('// keep me');
      expect(
        planInstall([{ client: 'cursor', path, format: 'json', installed: true }], read, SERVER)[0]!.changed,
      ).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
