import { type BigIntStats, closeSync, fstatSync, writeSync } from 'node:fs';
import { openRegularSync } from '@agentsecrets/fs';

/**
 * The live log file held open for appending from one batch to the next: a batch costs one write and one `fstat`
 * rather than open, write, close and stat. The descriptor is used only while the path still leads to the file it
 * opened (same device and inode, by a stat taken under the lock); after a rotation, by this process or another, or a
 * failed write, the file is opened again.
 */
export class LiveFile {
  readonly #path: string;
  #open: { readonly fd: number; readonly dev: bigint; readonly ino: bigint } | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  /**
   * Appends `text` to the file at the path — `seen` is its stat taken under the lock, undefined when there is none —
   * and returns the file's stat right after.
   */
  append(text: string, seen: BigIntStats | undefined): BigIntStats {
    let open = this.#open;
    if (open === undefined || seen === undefined || seen.dev !== open.dev || seen.ino !== open.ino) {
      this.close();
      const fd = openRegularSync(this.#path, 'a');
      const { dev, ino } = fstatSync(fd, { bigint: true });
      open = { fd, dev, ino };
      this.#open = open;
    }
    try {
      const bytes = Buffer.from(text, 'utf8');
      for (let done = 0; done < bytes.length; ) done += writeSync(open.fd, bytes, done);
      return fstatSync(open.fd, { bigint: true });
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Closes the descriptor; the next append opens the file again. */
  close(): void {
    const open = this.#open;
    this.#open = undefined;
    if (open === undefined) return;
    try {
      closeSync(open.fd);
    } catch {
      // already closed
    }
  }
}
