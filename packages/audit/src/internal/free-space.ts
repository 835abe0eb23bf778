import { statfs } from 'node:fs/promises';

/** How long one reading serves: a busy proxy asks once per interval, not once per request. */
const FREE_SPACE_TTL_MS = 100;

interface Reading {
  readonly at: number;
  readonly asked: Promise<number | undefined>;
  /** The answer, once it has come. */
  known?: { readonly bytes: number | undefined };
}

/**
 * Free bytes on the filesystem holding a directory (undefined while the directory does not exist). One `statfs`
 * answers every ask within FREE_SPACE_TTL_MS of it.
 */
export class FreeSpace {
  readonly #dir: string;
  readonly #failed: (cause: unknown) => Error;
  #reading: Reading | undefined;

  /** `failed` makes the error for a `statfs` that fails other than with ENOENT. */
  constructor(dir: string, failed: (cause: unknown) => Error) {
    this.#dir = dir;
    this.#failed = failed;
  }

  /** The free bytes as of a reading of the last FREE_SPACE_TTL_MS, taking a new one when there is none. */
  bytes(): Promise<number | undefined> {
    const now = performance.now();
    if (this.#reading === undefined || now - this.#reading.at >= FREE_SPACE_TTL_MS) {
      const reading: Reading = {
        at: now,
        asked: statfs(this.#dir).then(
          (fs) => {
            reading.known = { bytes: fs.bavail * fs.bsize };
            return reading.known.bytes;
          },
          (e: unknown) => {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw this.#failed(e);
            reading.known = { bytes: undefined };
            return undefined;
          },
        ),
      };
      this.#reading = reading;
    }
    return this.#reading.asked;
  }

  /** {@link bytes} without waiting: the answer of a reading of the last FREE_SPACE_TTL_MS, undefined when a look is due. */
  known(): { readonly bytes: number | undefined } | undefined {
    const reading = this.#reading;
    return reading !== undefined && performance.now() - reading.at < FREE_SPACE_TTL_MS
      ? reading.known
      : undefined;
  }
}
