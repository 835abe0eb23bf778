import { realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveServerCommand } from './index.js';

let dir: string;
beforeEach(async () => {
  dir = realpathSync(await mkdtemp(join(tmpdir(), 'as-server-command-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function touch(path: string): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, '');
  return path;
}

describe('resolveServerCommand', () => {
  it('returns absolute paths for a relative entry file, ending in `mcp serve`', async () => {
    const bin = await touch(join(dir, 'dist', 'bin.js'));
    const cmd = resolveServerCommand(relative(process.cwd(), bin));
    expect(isAbsolute(cmd.command)).toBe(true);
    expect(cmd.args).toEqual([bin, 'mcp', 'serve']);
    // This process's Node, possibly through a PATH link to the same binary.
    expect(realpathSync(cmd.command)).toBe(realpathSync(process.execPath));
  });

  it('resolves a global install link to the package file', async () => {
    const bin = await touch(join(dir, 'lib', 'node_modules', 'agentsecrets', 'dist', 'bin.js'));
    await mkdir(join(dir, 'bin'));
    await symlink(bin, join(dir, 'bin', 'agentsecrets'));
    expect(resolveServerCommand(join(dir, 'bin', 'agentsecrets')).args[0]).toBe(bin);
  });

  it('keeps the version-free link of a pnpm store instead of the versioned directory', async () => {
    const modules = join(dir, 'global', '5', 'node_modules');
    const pkg = join(modules, '.pnpm', 'agentsecrets@0.1.0', 'node_modules', 'agentsecrets');
    const bin = await touch(join(pkg, 'dist', 'bin.js'));
    await symlink(pkg, join(modules, 'agentsecrets'));
    expect(resolveServerCommand(bin).args[0]).toBe(join(modules, 'agentsecrets', 'dist', 'bin.js'));
    // Without the link, the real path it is.
    await rm(join(modules, 'agentsecrets'));
    expect(resolveServerCommand(bin).args[0]).toBe(bin);
  });

  it('prefers a `node` on PATH that links to the running binary (Homebrew), else the binary itself', async () => {
    const bin = await touch(join(dir, 'dist', 'bin.js'));
    const cellar = await touch(join(dir, 'Cellar', 'node', '20.19.0', 'bin', 'node'));
    await mkdir(join(dir, 'brew', 'bin'), { recursive: true });
    await symlink(cellar, join(dir, 'brew', 'bin', 'node'));
    const other = await touch(join(dir, 'other', 'node'));
    const pathEnv = [join(dir, 'other'), 'relative/ignored', join(dir, 'brew', 'bin')].join(delimiter);
    expect(resolveServerCommand(bin, { execPath: cellar, pathEnv }).command).toBe(
      join(dir, 'brew', 'bin', 'node'),
    );
    expect(resolveServerCommand(bin, { execPath: cellar, pathEnv: join(dir, 'other') }).command).toBe(cellar);
    expect(resolveServerCommand(bin, { execPath: other, pathEnv }).command).toBe(other);
  });

  it('refuses an entry file that does not exist', () => {
    expect(() => resolveServerCommand(join(dir, 'missing.js'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
