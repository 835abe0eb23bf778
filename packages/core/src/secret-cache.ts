import { createHash, timingSafeEqual } from 'node:crypto';
import { type InjectableSecret, Redactor, secretNotFound } from '@agentsecrets/injection';
import type { Namespace, SecretStore, SecretValue } from '@agentsecrets/keychain';

/** One project's secrets in the store: where they are and what the project is called (for messages). */
export interface ProjectScope {
  readonly namespace: Namespace;
  readonly name: string;
}

interface Snapshot {
  readonly values: ReadonlyMap<string, SecretValue>;
  readonly redactor: Redactor;
  readonly loadedAt: number;
  /** The store's revision when the values were read; undefined for a store that has none (the OS keychain). */
  readonly revision: string | undefined;
}

/**
 * Does the snapshot hold exactly these values under these names? A value read from the snapshot itself (a store with
 * a revision) is the same object and needs no comparison; one read for the call (the OS keychain) is compared in
 * constant time.
 */
function holds(snapshot: Snapshot, injected: ReadonlyMap<string, InjectableSecret>): boolean {
  for (const [name, secret] of injected) {
    const held = snapshot.values.get(name);
    if (held === undefined) return false;
    if (held === secret) continue;
    const a = held.bytes();
    const b = secret.bytes();
    const same = a.length === b.length && timingSafeEqual(a, b);
    a.fill(0);
    b.fill(0);
    if (!same) return false;
  }
  return true;
}

/**
 * The project's values and the redactor built from them, kept for the calls of a long-running process. Redaction must
 * cover every secret of the project, and reading all of them on each call would exceed the overhead budget. A store
 * with a revision (the file vault: one stat) keeps them exactly until its revision changes; one without (the OS
 * keychain) for `cacheMs`, and the values a call injects are read for that call all the same.
 */
export class SecretCache {
  readonly #store: SecretStore;
  readonly #project: ProjectScope;
  readonly #cacheMs: number;
  #snapshot: Promise<Snapshot> | undefined;
  /** What `#snapshot` settled with, while it is the current one: what a call can use without waiting. */
  #settled: Snapshot | undefined;
  /** The last redactor built and a digest of the names and values it was built from, kept across reloads. */
  #built: { readonly digest: string; readonly redactor: Redactor } | undefined;

  constructor(store: SecretStore, project: ProjectScope, cacheMs: number) {
    this.#store = store;
    this.#project = project;
    this.#cacheMs = cacheMs;
  }

  /**
   * The project's values and the redactor built from them. A store with a revision keeps them until its revision
   * changes (pass the current one); one without keeps them for `cacheMs`.
   */
  #load(force = false, revision?: string): Promise<Snapshot> {
    const current = this.#snapshot;
    if (current !== undefined && !force) {
      return current.then((s) => (this.#fresh(s, revision) ? s : this.#load(true, revision)));
    }
    this.#settled = undefined;
    const next = (async () => {
      // Taken before the values are read: a change made meanwhile shows as a newer revision on the next call.
      const taken = revision ?? (await this.#store.revision?.());
      const ns = this.#project.namespace;
      const names = await this.#store.list(ns);
      const values = new Map<string, SecretValue>();
      const hash = createHash('sha256');
      for (const name of names) {
        const value = await this.#store.get(ns, name);
        if (value === undefined) continue;
        values.set(name, value);
        const bytes = value.bytes();
        hash.update(`${name}\0${bytes.length}\0`).update(bytes);
        bytes.fill(0);
      }
      const digest = hash.digest('hex');
      // Building a redactor takes tens of milliseconds (every encoded form of every value): not again for the same set.
      const built = this.#built;
      const redactor = built?.digest === digest ? built.redactor : new Redactor(values.values());
      this.#built = { digest, redactor };
      return { values, redactor, loadedAt: performance.now(), revision: taken };
    })();
    this.#snapshot = next;
    next.then(
      (s) => {
        if (this.#snapshot === next) this.#settled = s;
      },
      () => {
        if (this.#snapshot === next) this.#snapshot = undefined;
      },
    );
    return next;
  }

  /**
   * Whether a snapshot still holds: one from a store with a revision while that revision is current (given none,
   * the caller only needs the set it was built from); one from a store without, for `cacheMs`.
   */
  #fresh(s: Snapshot, revision: string | undefined): boolean {
    return s.revision === undefined
      ? performance.now() - s.loadedAt < this.#cacheMs
      : revision === undefined || revision === s.revision;
  }

  /** Forgets the kept values: a write through this process applies to the very next call. */
  invalidate(): void {
    this.#snapshot = undefined;
    this.#settled = undefined;
  }

  /** Which of these names are secrets of the project; no value is read. */
  async stored(names: readonly string[]): Promise<string[]> {
    const all = new Set(await this.#store.list(this.#project.namespace));
    return names.filter((n) => all.has(n));
  }

  /**
   * The values to inject, current for this call: a secret rotated or deleted by another process (the CLI beside a
   * running proxy) applies to the very next request. A store with a revision says whether the kept values still hold;
   * from one without, the injected values are read for each call.
   */
  resolve(names: readonly string[]): Map<string, SecretValue> | Promise<Map<string, SecretValue>> {
    const revision = this.#store.revision?.();
    // Without waiting when the store answers its revision at once and the kept values are of that revision.
    const settled = this.#settled;
    if (typeof revision === 'string' && settled !== undefined && settled.revision === revision) {
      return this.#pick(names, settled);
    }
    return this.#resolveLoaded(names, revision);
  }

  async #resolveLoaded(
    names: readonly string[],
    asked: string | Promise<string> | undefined,
  ): Promise<Map<string, SecretValue>> {
    const revision = await asked;
    if (revision !== undefined) return this.#pick(names, await this.#load(false, revision));
    const out = new Map<string, SecretValue>();
    for (const name of names) {
      const value = await this.#store.get(this.#project.namespace, name);
      if (value === undefined) throw secretNotFound(this.#project.name);
      out.set(name, value);
    }
    return out;
  }

  #pick(names: readonly string[], snapshot: Snapshot): Map<string, SecretValue> {
    const out = new Map<string, SecretValue>();
    for (const name of names) {
      const value = snapshot.values.get(name);
      if (value === undefined) throw secretNotFound(this.#project.name);
      out.set(name, value);
    }
    return out;
  }

  /**
   * The redactor for a call: the kept one while it holds the values being injected, else one loaded afresh (a value
   * changed since it was built), and if the store changed again meanwhile, one that adds the injected values.
   */
  redactorFor(injected: ReadonlyMap<string, InjectableSecret>): Redactor | Promise<Redactor> {
    const settled = this.#settled;
    if (settled !== undefined && this.#fresh(settled, undefined) && holds(settled, injected)) {
      return settled.redactor;
    }
    return this.#redactorLoaded(injected);
  }

  async #redactorLoaded(injected: ReadonlyMap<string, InjectableSecret>): Promise<Redactor> {
    let snapshot = await this.#load();
    if (!holds(snapshot, injected)) snapshot = await this.#load(true);
    if (holds(snapshot, injected)) return snapshot.redactor;
    return new Redactor([...snapshot.values.values(), ...injected.values()]);
  }

  /** A redactor for every secret of the project, read now. */
  async redactor(): Promise<Redactor> {
    return (await this.#load(true)).redactor;
  }
}
