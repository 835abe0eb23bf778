import { type BigIntStats, statSync } from 'node:fs';
import { fileIoError } from './errors.js';

/**
 * A cheap token that changes whenever the file at `path` is replaced or written: device, inode, size, and the
 * modification and change times in nanoseconds (no process can set the change time back). `missing` when there is
 * no file. One synchronous `stat`, no read: microseconds on a local disk, where a trip through the thread pool costs
 * several times that and a turn of the event loop besides.
 */
export function fileStamp(path: string): string {
  let s: BigIntStats | undefined;
  try {
    s = statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch (error) {
    throw fileIoError('look at', path, error);
  }
  return s === undefined ? 'missing' : `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/**
 * A value derived from a file, kept until the file changes: the file's {@link fileStamp} is looked at (one stat) at
 * most every `recheckMs`, and the value is loaded again only when the stamp differs. Calls that come while a look is
 * in progress wait for it rather than stat the file again (a busy proxy stats once per interval, not once per
 * request in flight). A load that throws keeps nothing, so the next call loads again; {@link invalidate} forces the
 * next call to.
 */
export class StampedCache<T extends NonNullable<unknown>> {
  readonly #path: string;
  readonly #recheckMs: number;
  #kept: { readonly stamp: string; readonly value: T } | undefined;
  #checkedAt = 0;
  #looking: Promise<T> | undefined;

  constructor(path: string, recheckMs: number) {
    this.#path = path;
    this.#recheckMs = recheckMs;
  }

  /**
   * The kept value when the file was looked at less than `recheckMs` ago — what {@link get} gives without a look —
   * and undefined when a look is due.
   */
  current(): T | undefined {
    const kept = this.#kept;
    return kept !== undefined && performance.now() - this.#checkedAt < this.#recheckMs
      ? kept.value
      : undefined;
  }

  /** The value for the file as it is now (or as it was at most `recheckMs` ago). */
  get(load: () => Promise<T>): Promise<T> {
    const kept = this.current();
    if (kept !== undefined) return Promise.resolve(kept);
    if (this.#looking !== undefined) return this.#looking;
    const looking = this.#look(load, performance.now());
    this.#looking = looking;
    const done = () => {
      if (this.#looking === looking) this.#looking = undefined;
    };
    looking.then(done, done);
    return looking;
  }

  async #look(load: () => Promise<T>, now: number): Promise<T> {
    const kept = this.#kept;
    const stamp = fileStamp(this.#path);
    this.#checkedAt = now;
    if (kept !== undefined && kept === this.#kept && kept.stamp === stamp) return kept.value;
    this.#kept = undefined;
    const value = await load();
    this.#kept = { stamp, value };
    return value;
  }

  /** Drops the kept value: the next {@link get} loads (and does not wait for a look that started before). */
  invalidate(): void {
    this.#kept = undefined;
    this.#looking = undefined;
  }
}
