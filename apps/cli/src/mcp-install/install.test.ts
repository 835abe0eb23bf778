import { existsSync, readFileSync } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyInstall, type ClientTarget, planInstall, type ServerCommand } from './index.js';

const SERVER: ServerCommand = { command: '/usr/bin/node', args: ['/opt/as/dist/bin.js', 'mcp', 'serve'] };
const MOVED: ServerCommand = {
  command: '/usr/local/bin/node',
  args: ['/opt/as2/dist/bin.js', 'mcp', 'serve'],
};
const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-mcp-install-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const target = (path: string, client: ClientTarget['client'] = 'cursor'): ClientTarget => ({
  client,
  path,
  format: client === 'codex' ? 'toml' : 'json',
  installed: true,
});

describe('planInstall', () => {
  it('plans every target without writing, with a diff for each change', async () => {
    const cursor = join(dir, '.cursor', 'mcp.json');
    const codex = join(dir, '.codex', 'config.toml');
    await mkdir(join(dir, '.codex'));
    await writeFile(codex, 'model = "x"\n');
    const plans = planInstall([target(cursor), target(codex, 'codex')], read, SERVER);
    expect(plans.map((p) => [p.before === undefined, p.changed])).toEqual([
      [true, true],
      [false, true],
    ]);
    expect(plans[0]!.diff.split('\n').slice(0, 3)).toEqual([
      '--- /dev/null',
      `+++ ${cursor}`,
      '@@ -0,0 +1,8 @@',
    ]);
    expect(plans[1]!.diff).toContain('+[mcp_servers.agentsecrets]');
    expect(existsSync(cursor)).toBe(false);
    expect(await readFile(codex, 'utf8')).toBe('model = "x"\n');
  });

  it('stops at a broken file before anything is written', async () => {
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ "mcpServers": ');
    expect(() => planInstall([target(good), target(bad)], read, SERVER)).toThrow(
      `${bad} is not valid JSON (line 1, column 17); nothing was changed`,
    );
    expect(existsSync(good)).toBe(false);
  });
});

describe('applyInstall', () => {
  it('creates a new file (and its directories) with mode 0600 and no backup', async () => {
    const path = join(dir, 'a', 'b', 'mcp.json');
    const written = await applyInstall(planInstall([target(path)], read, SERVER));
    expect(written).toEqual([{ path, backup: undefined }]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8')).mcpServers.agentsecrets.command).toBe(SERVER.command);
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['mcp.json']);
  });

  it('replaces the file by rename, keeps its mode, and backs up the exact old bytes', async () => {
    const path = join(dir, 'mcp.json');
    const old = '\uFEFF{\r\n  // keep me\r\n  "mcpServers": {}\r\n}\r\n';
    await writeFile(path, old);
    await chmod(path, 0o640);
    const inode = (await stat(path)).ino;
    const plans = planInstall([target(path)], read, SERVER);
    const [result] = await applyInstall(plans);
    expect(result).toEqual({ path, backup: `${path}.agentsecrets-backup` });
    expect(await readFile(`${path}.agentsecrets-backup`)).toEqual(Buffer.from(old, 'utf8'));
    expect(await readFile(path, 'utf8')).toBe(plans[0]!.after);
    expect(await readFile(path, 'utf8')).toContain('// keep me');
    const now = await stat(path);
    expect(now.mode & 0o777).toBe(0o640);
    // A new inode: the old file was never written in place, so a crash leaves either the old or the new file.
    expect(now.ino).not.toBe(inode);
    expect((await readdir(dir)).sort()).toEqual(['mcp.json', 'mcp.json.agentsecrets-backup']);
  });

  it('never overwrites the first backup: later ones are timestamped', async () => {
    const path = join(dir, 'config.toml');
    const original = '# mine\nmodel = "x"\n';
    await writeFile(path, original);
    await applyInstall(planInstall([target(path, 'codex')], read, SERVER));
    const installed = await readFile(path, 'utf8');
    const now = () => new Date('2026-01-02T03:04:05.678Z');
    const [second] = await applyInstall(planInstall([target(path, 'codex')], read, MOVED), { now });
    expect(second!.backup).toBe(`${path}.agentsecrets-backup-20260102T030405Z`);
    expect(await readFile(`${path}.agentsecrets-backup`, 'utf8')).toBe(original);
    expect(await readFile(second!.backup!, 'utf8')).toBe(installed);
    const [third] = await applyInstall(planInstall([target(path, 'codex')], read, SERVER), { now });
    expect(third!.backup).toBe(`${path}.agentsecrets-backup-20260102T030405Z-1`);
  });

  it('skips plans with nothing to change', async () => {
    const path = join(dir, 'mcp.json');
    await applyInstall(planInstall([target(path)], read, SERVER));
    const again = planInstall([target(path)], read, SERVER);
    expect(again[0]).toMatchObject({ changed: false, diff: '' });
    expect(await applyInstall(again)).toEqual([]);
    expect(existsSync(`${path}.agentsecrets-backup`)).toBe(false);
  });

  it('writes nothing when the file changed after it was planned', async () => {
    const path = join(dir, 'settings.json');
    await writeFile(path, '{ "theme": "light" }');
    const plans = planInstall([target(path, 'gemini')], read, SERVER);
    await writeFile(path, '{ "theme": "dark" }');
    await expect(applyInstall(plans)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `${path} changed while mcp install ran; it was not written`,
    });
    expect(await readFile(path, 'utf8')).toBe('{ "theme": "dark" }');
    expect(await readdir(dir)).toEqual(['settings.json']);
  });

  it('writes through a symlinked config and keeps the link', async () => {
    const real = join(dir, 'dotfiles', 'mcp.json');
    const link = join(dir, '.cursor', 'mcp.json');
    await mkdir(join(dir, 'dotfiles'));
    await mkdir(join(dir, '.cursor'));
    await writeFile(real, '{\n  "a": 1\n}\n');
    await symlink(real, link);
    const [result] = await applyInstall(planInstall([target(link)], read, SERVER));
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(real, 'utf8')).mcpServers.agentsecrets.args).toEqual(SERVER.args);
    expect(result!.backup).toBe(`${link}.agentsecrets-backup`);
    expect(await readdir(join(dir, 'dotfiles'))).toEqual(['mcp.json']);
  });

  it('reports a file it cannot write as one line naming it', async () => {
    await writeFile(join(dir, 'not-a-dir'), 'x');
    const path = join(dir, 'not-a-dir', 'mcp.json');
    const plans = planInstall([target(path)], () => undefined, SERVER);
    await expect(applyInstall(plans)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(
        /^could not write .*not-a-dir\/mcp\.json \((ENOTDIR|EEXIST)\); it was left as it was$/,
      ),
    });
  });
});
