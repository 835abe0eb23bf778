import type { BackendName, Namespace, SecretStore } from '@agentsecrets/keychain';

/** A store that opens its backend on first use; `opened` says whether that has happened. */
export interface LazyStore extends SecretStore {
  readonly opened: boolean;
}

/**
 * Defers opening the file vault (which takes the passphrase) until a secret is read or written: a command that only
 * reads config or the signed policy (`project list`, `allowlist list`, `status`) then needs no passphrase. A failed
 * open is not kept: the next use tries again.
 */
export function lazyStore(backend: BackendName, open: () => Promise<SecretStore>): LazyStore {
  let store: Promise<SecretStore> | undefined;
  let opened: SecretStore | undefined;
  const inner = () => {
    store ??= open().then(
      (s) => {
        opened = s;
        return s;
      },
      (e: unknown) => {
        store = undefined;
        throw e;
      },
    );
    return store;
  };
  return {
    backend,
    get opened() {
      return opened !== undefined;
    },
    get: async (ns: Namespace, name: string) => (await inner()).get(ns, name),
    set: async (ns: Namespace, name: string, value: Uint8Array | string) =>
      (await inner()).set(ns, name, value),
    delete: async (ns: Namespace, name: string) => (await inner()).delete(ns, name),
    list: async (ns: Namespace) => (await inner()).list(ns),
    has: async (ns: Namespace, name: string) => (await inner()).has(ns, name),
    // Only the file vault is opened lazily, and it has a revision: asked without waiting once the vault is open.
    revision: () => opened?.revision?.() ?? inner().then(async (s) => (await s.revision?.()) ?? ''),
  };
}

/** True for a {@link lazyStore} that has not opened its backend yet. */
export function isUnopened(store: SecretStore): boolean {
  return 'opened' in store && (store as LazyStore).opened === false;
}
