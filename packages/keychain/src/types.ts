import type { Namespace } from '@agentsecrets/names';
import type { SecretValue } from './secret-value.js';

/** The vault backends: the OS keychain, an encrypted vault file, or process memory. */
export type BackendName = 'os' | 'file' | 'memory';

/** Every backend name, in the order they are documented. */
export const BACKEND_NAMES: readonly BackendName[] = Object.freeze(['os', 'file', 'memory']);

/**
 * Where secret values are kept, namespaced by workspace and project. Every backend behaves the same: names are
 * checked with `assertSecretName`, values are bytes (a string is stored as UTF-8), `list` returns names only, sorted.
 */
export interface SecretStore {
  /** Which backend this is. */
  readonly backend: BackendName;
  /** The value of `name`, or `undefined` when there is none. Dispose the value when done with it. */
  get(ns: Namespace, name: string): Promise<SecretValue | undefined>;
  /** Creates or replaces `name`. A string is stored as its UTF-8 bytes. */
  set(ns: Namespace, name: string, value: Uint8Array | string): Promise<void>;
  /** Removes `name`; true when it existed. */
  delete(ns: Namespace, name: string): Promise<boolean>;
  /** The names in `ns`, sorted by code unit; never values. */
  list(ns: Namespace): Promise<string[]>;
  /** True when `name` exists in `ns`. */
  has(ns: Namespace, name: string): Promise<boolean>;
  /**
   * A cheap token (no value is read) that differs whenever any value may have changed since it was last returned,
   * whether this process or another changed it: lets a long-running process keep values and still see a rotation or
   * deletion on the next call. Left out by backends that cannot tell (the OS keychain): read the values instead.
   * Answered without a promise where that costs no more than a stat, so it can be asked on every call without a
   * turn of the event loop.
   */
  revision?(): string | Promise<string>;
}
