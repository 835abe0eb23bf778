import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errnoCode, fileIoError } from './errors.js';
import { escapeName, inFlight, removeLeftovers } from './leftovers.js';
import { randomHex } from './random.js';

/** Fsyncs a directory so a rename in it survives a crash. Platforms that cannot (Windows) are skipped quietly. */
async function fsyncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') {
      throw fileIoError('sync the directory', dir, error);
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Replaces `path` with `data` so that a reader, or the file after a crash, sees either the old content or the new,
 * never a mix: a temporary file in the same directory, with a random name and created exclusively (so nothing put
 * at a name beforehand, a FIFO or a link, is opened or followed), is written with `mode` (0600 unless given) and
 * fsynced, renamed over `path`, and the directory fsynced. `beforeRename` runs last, to check the writer still holds
 * its lock. On any failure the
 * temporary file is removed and `path` is left as it was. Temporary files of `path` left by writers that were killed
 * (their pid, in the name, is gone) are removed after each successful write.
 *
 * Kept rather than `write-file-atomic`: that package neither fsyncs the directory nor lets the writer re-check its
 * lock just before the rename (and its current major needs Node 22.22).
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  options: { readonly beforeRename?: (() => Promise<void>) | undefined; readonly mode?: number } = {},
): Promise<void> {
  const { beforeRename, mode = 0o600 } = options;
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomHex(6)}.tmp`);
  let handle: Awaited<ReturnType<typeof open>>;
  inFlight.add(temp);
  try {
    handle = await open(temp, 'wx', mode);
  } catch (error) {
    inFlight.delete(temp);
    throw fileIoError('create a temporary file in', dir, error);
  }
  try {
    try {
      // The mode as asked, whatever the umask.
      if (mode !== 0o600) await handle.chmod(mode);
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await beforeRename?.();
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    if (errnoCode(error) !== undefined) throw fileIoError('write', path, error);
    throw error;
  } finally {
    inFlight.delete(temp);
  }
  await fsyncDirectory(dir);
  await removeLeftovers(dir, new RegExp(`^\\.${escapeName(basename(path))}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`));
}
