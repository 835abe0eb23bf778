import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  NOT_REGULAR,
  openRegular,
  openRegularSync,
  readJsonFile,
  readRegularFile,
  withFileLock,
} from './index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentsecrets-fs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Paths that lead to something other than a regular file — a FIFO, a link to /dev/zero, a directory — as any process of the user can leave them. */
async function notRegular(): Promise<string[]> {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const zero = join(dir, 'zero');
  await symlink('/dev/zero', zero);
  const sub = join(dir, 'sub');
  await mkdir(sub);
  return [fifo, zero, sub];
}

describe('opening only regular files', () => {
  it('reads and appends to a regular file, and reports a missing one as the OS does', async () => {
    const path = join(dir, 'f.json');
    await writeFile(path, 'one');
    const fd = openRegularSync(path, 'a');
    closeSync(fd);
    expect(await readRegularFile(path)).toBe('one');
    await (await openRegular(path)).close();
    await expect(readRegularFile(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => openRegularSync(join(dir, 'missing'), 'r')).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });

  it('refuses anything else at once, without waiting for a FIFO’s other end or reading a device', async () => {
    for (const path of await notRegular()) {
      await expect(readRegularFile(path)).rejects.toMatchObject({ code: NOT_REGULAR });
      await expect(openRegular(path)).rejects.toMatchObject({ code: NOT_REGULAR });
      expect(() => openRegularSync(path, 'r')).toThrow(expect.objectContaining({ code: NOT_REGULAR }));
      expect(() => openRegularSync(path, 'a')).toThrow(expect.objectContaining({ code: NOT_REGULAR }));
    }
  });

  it('refuses a FIFO for appending also while something reads it (the open succeeds, the type does not)', async () => {
    const [fifo] = (await notRegular()) as [string];
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      expect(() => openRegularSync(fifo, 'a')).toThrow(expect.objectContaining({ code: NOT_REGULAR }));
      // Nothing was written into it.
      expect(readFileSync(reader, 'utf8')).toBe('');
    } finally {
      closeSync(reader);
    }
  });

  it('leaves module resolution as it was after refusing a FIFO (Node keeps the last sync stat for realpath)', async () => {
    // Two packages linked into node_modules, as pnpm does; resolving the first caches the directories on the way.
    for (const name of ['one', 'two']) {
      await mkdir(join(dir, 'store', name), { recursive: true });
      await writeFile(join(dir, 'store', name, 'index.js'), 'module.exports = 1;');
    }
    await mkdir(join(dir, 'app', 'node_modules'), { recursive: true });
    await symlink(join(dir, 'store', 'one'), join(dir, 'app', 'node_modules', 'one'));
    await symlink(join(dir, 'store', 'two'), join(dir, 'app', 'node_modules', 'two'));
    const require = createRequire(join(dir, 'app', 'main.js'));
    expect(require.resolve('one')).toBe(join(realpathSync(dir), 'store', 'one', 'index.js'));
    const [fifo] = (await notRegular()) as [string];
    expect(() => openRegularSync(fifo, 'r')).toThrow(expect.objectContaining({ code: NOT_REGULAR }));
    expect(require.resolve('two')).toBe(join(realpathSync(dir), 'store', 'two', 'index.js'));
  });

  it('a JSON file that is not a regular file is FILE_IO, in words, with what to do', async () => {
    for (const path of await notRegular()) {
      await expect(readJsonFile(path, z.object({}))).rejects.toMatchObject({
        code: 'FILE_IO',
        message: `cannot read ${path} (not a regular file)`,
        hint: expect.stringContaining('remove it'),
      });
    }
  });

  it('refuses a lock that is not a regular file at once, naming it: it is never one of ours', async () => {
    for (const path of await notRegular()) {
      await expect(withFileLock(path, { timeoutMs: 10_000 }, async () => 'ran')).rejects.toMatchObject({
        code: 'FILE_IO',
        message: `cannot read the lock file ${path} (not a regular file)`,
      });
    }
  });
});
