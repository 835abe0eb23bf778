import { join, resolve } from 'node:path';
import { AgentSecretsError } from '@agentsecrets/errors';
import { openFileVault, type PassphraseSource } from './file-vault.js';
import { FILE_BACKEND_HINT } from './internal/keytar.js';
import { createMemoryStore } from './memory-store.js';
import { createOsStore, probeOsKeychain } from './os-store.js';
import { BACKEND_NAMES, type BackendName, type SecretStore } from './types.js';

/** Options for {@link openSecretStore}. */
export interface OpenStoreOptions {
  /** The backend to use; otherwise `AGENTSECRETS_KEYCHAIN`, otherwise `os` when a keychain answers. */
  readonly backend?: BackendName;
  /** The AgentSecrets home (`$AGENTSECRETS_HOME`, default `~/.agentsecrets`); the file vault is `home/vault.json`. */
  readonly home: string;
  /** The file vault's passphrase; otherwise `AGENTSECRETS_PASSPHRASE`. */
  readonly passphrase?: PassphraseSource;
  /** Where to read `AGENTSECRETS_*` from; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

const BACKEND_LIST = BACKEND_NAMES.join(', ');

function isBackendName(value: string): value is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(value);
}

function noKeychain(message: string): AgentSecretsError {
  return new AgentSecretsError('VAULT_UNAVAILABLE', message, { hint: FILE_BACKEND_HINT });
}

/**
 * Opens the store AgentSecrets is configured to use. The backend is `options.backend`, else
 * `AGENTSECRETS_KEYCHAIN`, else `os` when an OS keychain answers (see {@link probeOsKeychain}); with none of these
 * it throws `VAULT_UNAVAILABLE` naming the `file` backend. It never falls back to storing values in plain text.
 *
 * `file` opens `${home}/vault.json` with `options.passphrase` or `AGENTSECRETS_PASSPHRASE`.
 *
 * @example
 * ```ts
 * const store = await openSecretStore({ home: process.env.AGENTSECRETS_HOME ?? `${homedir()}/.agentsecrets` });
 * const value = await store.get({ workspace: 'local', project: 'demo' }, 'API_KEY');
 * ```
 */
export async function openSecretStore(options: OpenStoreOptions): Promise<SecretStore> {
  if (typeof options?.home !== 'string' || options.home.length === 0) {
    throw new AgentSecretsError('INVALID_ARGUMENT', 'openSecretStore needs the AgentSecrets home directory', {
      hint: 'pass { home: process.env.AGENTSECRETS_HOME ?? "~/.agentsecrets" (expanded) }',
    });
  }
  const env = options.env ?? process.env;
  let backend: BackendName;
  if (options.backend !== undefined) {
    if (!isBackendName(options.backend)) {
      throw new AgentSecretsError('INVALID_ARGUMENT', 'unknown vault backend requested', {
        hint: `the backend is one of ${BACKEND_LIST}`,
      });
    }
    backend = options.backend;
  } else {
    const configured = env.AGENTSECRETS_KEYCHAIN?.trim().toLowerCase();
    if (configured !== undefined && configured !== '') {
      if (!isBackendName(configured)) {
        throw new AgentSecretsError(
          'CONFIG_INVALID',
          'AGENTSECRETS_KEYCHAIN names an unknown vault backend',
          {
            hint: `set AGENTSECRETS_KEYCHAIN to one of ${BACKEND_LIST}, or unset it to use the OS keychain`,
          },
        );
      }
      backend = configured;
    } else {
      if (await probeOsKeychain()) return createOsStore();
      throw noKeychain('no OS keychain answered and no other vault backend is configured');
    }
  }

  switch (backend) {
    case 'memory':
      return createMemoryStore();
    case 'os':
      if (await probeOsKeychain()) return createOsStore();
      throw noKeychain('the os vault backend was chosen but no OS keychain answered');
    case 'file': {
      const fromEnv = env.AGENTSECRETS_PASSPHRASE;
      const passphrase = options.passphrase ?? (fromEnv === '' ? undefined : fromEnv);
      return openFileVault({
        path: join(resolve(options.home), 'vault.json'),
        ...(passphrase === undefined ? {} : { passphrase }),
      });
    }
  }
}
