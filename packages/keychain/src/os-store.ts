import { randomBytes } from 'node:crypto';
import { assertNamespace, assertSecretName, type Namespace } from '@agentsecrets/names';
import { toOwnedBytes } from './internal/bytes.js';
import { keychainCall, loadKeytar, within } from './internal/keytar.js';
import { decodeFromKeychain, encodeForKeychain } from './internal/value-codec.js';
import { SecretValue } from './secret-value.js';
import type { SecretStore } from './types.js';

/** Options for {@link createOsStore}. */
export interface OsStoreOptions {
  /**
   * The service-name prefix; each namespace is the service `<service>/<workspace>/<project>`. Default `agentsecrets`;
   * tests and benchmarks use one of their own so they never touch a user's items.
   */
  readonly service?: string;
}

const DEFAULT_SERVICE = 'agentsecrets';

/**
 * A store in the OS keychain through keytar: macOS Keychain, the Secret Service on Linux (gnome-keyring, KeePassXC)
 * or Windows Credential Manager. Each namespace is one keychain service, `agentsecrets/<workspace>/<project>`, and
 * each secret an account in it named after the secret.
 *
 * Nothing is contacted until the first call; a missing or locked keychain then fails with `VAULT_UNAVAILABLE` or
 * `VAULT_LOCKED` and a hint naming the file backend. `list` uses keytar's `findCredentials`, which returns values
 * along with account names: the values are dropped at once and never leave this function.
 *
 * @example
 * ```ts
 * const store = createOsStore();
 * await store.set({ workspace: 'local', project: 'demo' }, 'API_KEY', 'k-123');
 * ```
 */
export function createOsStore(options: OsStoreOptions = {}): SecretStore {
  const prefix = options.service ?? DEFAULT_SERVICE;
  const serviceFor = (ns: Namespace): string => {
    const checked = assertNamespace(ns);
    return `${prefix}/${checked.workspace}/${checked.project}`;
  };

  return {
    backend: 'os',

    async get(ns, name) {
      const service = serviceFor(ns);
      assertSecretName(name);
      const stored = await keychainCall(`read ${name}`, (k) => k.getPassword(service, name));
      if (stored === null) return undefined;
      const bytes = decodeFromKeychain(stored);
      try {
        return new SecretValue(name, bytes);
      } finally {
        bytes.fill(0);
      }
    },

    async set(ns, name, value) {
      const service = serviceFor(ns);
      assertSecretName(name);
      const bytes = toOwnedBytes(value);
      try {
        const stored = encodeForKeychain(bytes);
        await keychainCall(`store ${name}`, (k) => k.setPassword(service, name, stored));
      } finally {
        bytes.fill(0);
      }
    },

    async delete(ns, name) {
      const service = serviceFor(ns);
      assertSecretName(name);
      return keychainCall(`delete ${name}`, (k) => k.deletePassword(service, name));
    },

    async list(ns) {
      const service = serviceFor(ns);
      const accounts = await keychainCall('list secrets', async (k) => {
        // findCredentials has no names-only form; keep the account names and let the values go right here.
        const found = await k.findCredentials(service);
        return found.map((credential) => credential.account);
      });
      const names = new Set<string>();
      for (const account of accounts) {
        try {
          names.add(assertSecretName(account));
        } catch {
          // An item someone else put under our service with a name we would never create: not ours to list.
        }
      }
      return [...names].sort();
    },

    async has(ns, name) {
      const service = serviceFor(ns);
      assertSecretName(name);
      const stored = await keychainCall(`read ${name}`, (k) => k.getPassword(service, name));
      return stored !== null;
    },
  };
}

/** Options for {@link probeOsKeychain}. */
export interface ProbeOptions {
  /** How long to wait for the keychain to answer. Default 3000 ms. */
  readonly timeoutMs?: number;
}

/**
 * True when an OS keychain answers and accepts a write: a throwaway item is stored, read back and deleted, bounded by
 * a timeout so a keychain that never answers (or waits on an unlock prompt nobody sees) cannot hang the caller.
 *
 * A read alone is not enough: on a headless Linux D-Bus session gnome-keyring starts on demand and answers reads, but
 * has no default keyring to write to.
 */
export async function probeOsKeychain(options: ProbeOptions = {}): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const attempt = async (): Promise<boolean> => {
    const keytar = await loadKeytar();
    const service = `${DEFAULT_SERVICE}/probe`;
    const account = `probe-${process.pid}-${randomBytes(6).toString('hex')}`;
    await keytar.setPassword(service, account, 'ok');
    try {
      return (await keytar.getPassword(service, account)) === 'ok';
    } finally {
      await keytar.deletePassword(service, account);
    }
  };
  return within(attempt(), timeoutMs, false);
}
