import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounting a tmpfs needs root (CAP_SYS_ADMIN); elsewhere the full-disk tests are skipped, saying why. */
export const CAN_MOUNT = process.getuid?.() === 0;

/** A real, small filesystem (tmpfs) that tests fill up to get ENOSPC the way a full disk gives it. */
export interface SmallDisk {
  readonly path: string;
  /** Writes a filler file until the filesystem is full (ENOSPC). */
  fill(): Promise<void>;
  /** Removes the filler. */
  free(): Promise<void>;
  unmount(): Promise<void>;
}

export async function mountSmallDisk(sizeMb = 16): Promise<SmallDisk> {
  const path = await mkdtemp(join(tmpdir(), 'as-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', path]);
  const filler = join(path, 'filler');
  return {
    path,
    fill: async () => {
      const handle = await open(filler, 'a');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      try {
        for (;;) {
          try {
            await handle.write(chunk);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw e;
          }
        }
        // The last partial block, byte by byte is too slow; a 1 KiB step leaves less than 1 KiB free.
        const small = Buffer.alloc(1024, 0x61);
        for (;;) {
          try {
            await handle.write(small);
          } catch {
            break;
          }
        }
      } finally {
        await handle.close();
      }
    },
    free: () => unlink(filler).catch(() => undefined),
    unmount: async () => {
      execFileSync('umount', ['-l', path]);
      await rm(path, { recursive: true, force: true });
    },
  };
}
