import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { errnoCode, NOT_REGULAR } from './errors.js';

// The files of the AgentSecrets home are opened only as regular files. Any process of the user can put something
// else at a file's path: opening a FIFO waits for its other end for ever (a thread of the pool, or the whole event
// loop for a synchronous open), and a device such as /dev/zero reads without end. So every open is non-blocking —
// which changes nothing for a regular file — and whatever is not a regular file is refused.

const FLAGS = {
  r: constants.O_RDONLY | constants.O_NONBLOCK,
  a: constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK,
} as const;

function notRegular(path: string, cause?: unknown): NodeJS.ErrnoException {
  return Object.assign(new Error(`${path} is not a regular file`, { cause }), { code: NOT_REGULAR });
}

// What an open fails with for something else at the path: ENXIO (a FIFO with no reader opened for writing without
// blocking, a socket, a device with no driver) and EISDIR (a directory opened for writing).
function openFailure(path: string, error: unknown): unknown {
  const code = errnoCode(error);
  return code === 'ENXIO' || code === 'EISDIR' ? notRegular(path, error) : error;
}

/**
 * Opens `path` for reading (`r`) or appending (`a`, created with `mode`), without blocking, as a regular file only:
 * anything else fails with the code {@link NOT_REGULAR}. Other failures (ENOENT, EACCES, …) are the OS's.
 */
export function openRegularSync(path: string, flags: keyof typeof FLAGS, mode = 0o600): number {
  let fd: number;
  try {
    fd = openSync(path, FLAGS[flags], mode);
  } catch (error) {
    throw openFailure(path, error);
  }
  let regular = false;
  try {
    // As bigints: a plain fstatSync leaves the FIFO's mode in the stat buffer Node shares between sync calls, where
    // realpathSync reads it for path parts it has cached (nodejs/node#51142), and module resolution then returned
    // paths through symlinks unresolved: "Cannot find module" for a package's own dependency.
    regular = fstatSync(fd, { bigint: true }).isFile();
  } finally {
    if (!regular) closeSync(fd);
  }
  if (!regular) throw notRegular(path);
  return fd;
}

/** {@link openRegularSync} for reading, as a file handle. */
export async function openRegular(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, FLAGS.r);
  } catch (error) {
    throw openFailure(path, error);
  }
  let regular = false;
  try {
    regular = (await handle.stat()).isFile();
  } finally {
    if (!regular) await handle.close();
  }
  if (!regular) throw notRegular(path);
  return handle;
}

/** The whole of a regular file as UTF-8 text; fails as {@link openRegular} does. */
export async function readRegularFile(path: string): Promise<string> {
  const handle = await openRegular(path);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
