import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  fileStamp,
  isProcessAlive,
  readJsonFile,
  StampedCache,
  writeFileAtomic,
  writeJsonFile,
} from './index.js';

const Schema = z.object({ name: z.string(), count: z.number().int() }).strict();
const CANARY = 'sk_live_FS_CANARY_31337';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentsecrets-fs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('JSON files', () => {
  it('writes validated JSON with mode 0600 and reads it back; a missing file is undefined', async () => {
    const path = join(dir, 'state.json');
    expect(await readJsonFile(path, Schema)).toBeUndefined();
    await writeJsonFile(path, Schema, { name: 'a', count: 1 });
    expect(await readJsonFile(path, Schema)).toEqual({ name: 'a', count: 1 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await expect(writeJsonFile(path, Schema, { name: 'a', count: 1.5 })).rejects.toThrow();
    expect(await readJsonFile(path, Schema)).toEqual({ name: 'a', count: 1 });
  });

  it('names an invalid file and its first bad field (CONFIG_INVALID) without echoing its content', async () => {
    const path = join(dir, 'state.json');
    await writeFile(path, `{"name": "${CANARY}", "count": "${CANARY}"}`);
    const error = await readJsonFile(path, Schema).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: `${path} has an invalid field: count` });
    await writeFile(path, `not json ${CANARY}`);
    const notJson = await readJsonFile(path, Schema).catch((e: unknown) => e);
    expect(notJson).toMatchObject({ code: 'CONFIG_INVALID', message: `${path} is not valid JSON` });
    expect(JSON.stringify([error, notJson])).not.toContain(CANARY);
  });

  it('a file that cannot be read is FILE_IO with the errno code', async () => {
    await writeFile(join(dir, 'a-file'), '{}');
    const path = join(dir, 'a-file', 'below');
    await expect(readJsonFile(path, Schema)).rejects.toMatchObject({
      code: 'FILE_IO',
      message: `cannot read ${path} (ENOTDIR)`,
    });
  });
});

describe('writeFileAtomic', () => {
  it('fails with FILE_IO and leaves the old content when the lock check refuses, or the directory is gone', async () => {
    const path = join(dir, 'f');
    await writeFileAtomic(path, 'old');
    await expect(
      writeFileAtomic(path, 'new', {
        beforeRename: async () => {
          throw new Error('lock lost');
        },
      }),
    ).rejects.toThrow('lock lost');
    expect(await readFile(path, 'utf8')).toBe('old');
    await expect(writeFileAtomic(join(dir, 'missing', 'f'), 'x')).rejects.toMatchObject({
      code: 'FILE_IO',
      message: expect.stringContaining('(ENOENT)'),
    });
  });
});

describe('change stamps', () => {
  it('fileStamp changes on every write, also of the same size, and is `missing` without a file', async () => {
    const path = join(dir, 'f');
    expect(fileStamp(path)).toBe('missing');
    await writeFileAtomic(path, 'aaaa');
    const first = fileStamp(path);
    await writeFileAtomic(path, 'bbbb');
    expect(fileStamp(path)).not.toBe(first);
  });

  it('StampedCache loads again only when the file changed, looking at most every recheckMs', async () => {
    const path = join(dir, 'f');
    await writeFileAtomic(path, 'one');
    const cache = new StampedCache<string>(path, 60_000);
    let loads = 0;
    const load = async () => {
      loads += 1;
      return readFile(path, 'utf8');
    };
    expect(await cache.get(load)).toBe('one');
    await writeFileAtomic(path, 'two');
    // Within the recheck interval the kept value stands, without a stat, and is there without waiting too.
    expect(await cache.get(load)).toBe('one');
    expect(cache.current()).toBe('one');
    expect(loads).toBe(1);
    const eager = new StampedCache<string>(path, 0);
    expect(eager.current()).toBeUndefined();
    expect(await eager.get(load)).toBe('two');
    // Once the interval is over, a look is due: nothing is given without one.
    expect(eager.current()).toBeUndefined();
    expect(await eager.get(load)).toBe('two');
    expect(loads).toBe(2);
    await writeFileAtomic(path, 'three');
    expect(await eager.get(load)).toBe('three');
    // A load that fails keeps nothing: the next call loads again.
    await expect(eager.get(async () => Promise.reject(new Error('bad')))).resolves.toBe('three');
    eager.invalidate();
    await expect(eager.get(async () => Promise.reject(new Error('bad')))).rejects.toThrow('bad');
    expect(await eager.get(load)).toBe('three');
  });

  it('StampedCache: calls that come while a look is in progress share it (one stat, one load)', async () => {
    const path = join(dir, 'f');
    await writeFileAtomic(path, 'one');
    const cache = new StampedCache<string>(path, 0);
    let loads = 0;
    const load = async () => {
      loads += 1;
      return readFile(path, 'utf8');
    };
    expect(await cache.get(load)).toBe('one');
    await writeFileAtomic(path, 'two');
    const all = await Promise.all(Array.from({ length: 20 }, () => cache.get(load)));
    expect(all).toEqual(Array.from({ length: 20 }, () => 'two'));
    expect(loads).toBe(2);
    // A change after the shared look is seen by the next call, and invalidate() does not join a look in progress.
    await writeFileAtomic(path, 'three');
    const before = cache.get(load);
    cache.invalidate();
    await writeFileAtomic(path, 'four');
    expect(await cache.get(load)).toBe('four');
    await before;
  });
});

describe('isProcessAlive', () => {
  it('is true for this process and false for one that has exited', async () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = child.pid!;
    await new Promise((resolve) => child.on('exit', resolve));
    expect(isProcessAlive(pid)).toBe(false);
  });
});
