import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  assertKdfParams,
  constantTimeEqual,
  DEFAULT_KDF_PARAMS,
  deriveKey,
  type KdfParams,
  open,
  randomBytes,
  seal,
} from '@agentsecrets/crypto';
import { AgentSecretsError, isAgentSecretsError } from '@agentsecrets/errors';
import {
  type AssertLockHeld,
  errnoCode,
  fileStamp,
  readRegularFile,
  withFileLock,
  writeFileAtomic,
} from '@agentsecrets/fs';
import { assertNamespace, assertSecretName, type Namespace } from '@agentsecrets/names';
import { toOwnedBytes } from './internal/bytes.js';
import { keychainCall } from './internal/keytar.js';
import { asVault, asVaultNow, vaultIoError } from './internal/vault-errors.js';
import {
  CHECK_PLAINTEXT,
  checkAad,
  entryAad,
  parseVault,
  sameVault,
  serializeVault,
  VAULT_FORMAT,
  VAULT_KEY_SERVICE,
  VAULT_VERSION,
  type VaultDocument,
  type VaultKeySource,
} from './internal/vault-format.js';
import { probeOsKeychain } from './os-store.js';
import { SecretValue } from './secret-value.js';
import type { SecretStore } from './types.js';

/** A passphrase, or a function that supplies one (a hidden prompt), called at most once per open. */
export type PassphraseSource = string | (() => Promise<string> | string);

/** Options for {@link openFileVault}. */
export interface FileVaultOptions {
  /** The vault file, e.g. `~/.agentsecrets/vault.json`. Its directory is created (0700) when missing. */
  readonly path: string;
  /** Unlocks a passphrase vault, and is the passphrase of a new one. */
  readonly passphrase?: PassphraseSource;
  /**
   * For a new vault: keep a random 32-byte vault key in the OS keychain instead of deriving one from a passphrase,
   * when a keychain answers (otherwise the passphrase is used). An existing vault always opens the way it was made.
   */
  readonly keyFromOsKeychain?: boolean;
  /** Argon2id parameters for a new vault; default `DEFAULT_KDF_PARAMS`. An existing vault uses those in its file. */
  readonly kdfParams?: KdfParams;
  /** How long a write waits for another process's lock before `VAULT_BUSY`; default 10 000 ms. */
  readonly lockTimeoutMs?: number;
}

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

const PASSPHRASE_HINT =
  'set AGENTSECRETS_PASSPHRASE (for automation; never in an agent’s environment) or run the command in a terminal to be prompted';

function passphraseReader(source: PassphraseSource | undefined, path: string): () => Promise<string> {
  let cached: Promise<string> | undefined;
  return () => {
    cached ??= (async () => {
      const value = typeof source === 'function' ? await source() : source;
      if (typeof value !== 'string' || value.length === 0) {
        throw new AgentSecretsError('PASSPHRASE_REQUIRED', `a passphrase is needed to open vault ${path}`, {
          hint: PASSPHRASE_HINT,
        });
      }
      // The same passphrase typed on another system may arrive in another Unicode normal form.
      return value.normalize('NFC');
    })();
    return cached;
  };
}

async function readVaultText(path: string): Promise<string | undefined> {
  try {
    return await readRegularFile(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw vaultIoError('read vault', path, error);
  }
}

async function readVault(path: string): Promise<VaultDocument | undefined> {
  const text = await readVaultText(path);
  return text === undefined ? undefined : parseVault(text, path);
}

function verifyCheck(key: Buffer, doc: VaultDocument): boolean {
  let opened: Buffer;
  try {
    opened = open(key, Buffer.from(doc.check, 'base64'), checkAad(doc.id));
  } catch (error) {
    if (isAgentSecretsError(error) && error.code === 'DECRYPT_FAILED') return false;
    throw error;
  }
  return constantTimeEqual(opened, Buffer.from(CHECK_PLAINTEXT, 'utf8'));
}

type PassphraseKey = Extract<VaultKeySource, { source: 'passphrase' }>;

async function keyFromPassphrase(
  doc: VaultDocument,
  source: PassphraseKey,
  passphrase: string,
  path: string,
): Promise<Buffer> {
  const key = await deriveKey(passphrase, Buffer.from(source.salt, 'base64'), source.params, KEY_LENGTH);
  if (!checkOrCorrupt(key, doc, path)) {
    key.fill(0);
    throw new AgentSecretsError('PASSPHRASE_INCORRECT', `the passphrase does not open vault ${path}`, {
      hint: 'check AGENTSECRETS_PASSPHRASE or type it again; a lost passphrase cannot be recovered',
    });
  }
  return key;
}

function checkOrCorrupt(key: Buffer, doc: VaultDocument, path: string): boolean {
  try {
    return verifyCheck(key, doc);
  } catch (error) {
    throw new AgentSecretsError('VAULT_CORRUPT', `vault ${path} has an unreadable check value`, {
      hint: 'the file was left untouched; restore it from a backup',
      cause: error,
    });
  }
}

async function keyFromKeychain(doc: VaultDocument, path: string): Promise<Buffer> {
  const stored = await keychainCall('read the vault key', (k) => k.getPassword(VAULT_KEY_SERVICE, doc.id));
  if (stored === null) {
    throw new AgentSecretsError('VAULT_LOCKED', `the key of vault ${path} is not in the OS keychain`, {
      hint: `the vault cannot be opened without it: restore the keychain item "${VAULT_KEY_SERVICE}" / ${doc.id}, or move the vault aside and run \`agentsecrets init\``,
    });
  }
  const key = Buffer.from(stored, 'base64');
  if (key.length !== KEY_LENGTH || !checkOrCorrupt(key, doc, path)) {
    key.fill(0);
    throw new AgentSecretsError('VAULT_LOCKED', `the key in the OS keychain does not open vault ${path}`, {
      hint: `the keychain item "${VAULT_KEY_SERVICE}" / ${doc.id} was changed, or the vault file was; restore either from a backup`,
    });
  }
  return key;
}

async function unlock(doc: VaultDocument, passphrase: () => Promise<string>, path: string): Promise<Buffer> {
  const source = doc.key;
  if (source.source === 'os-keychain') return keyFromKeychain(doc, path);
  return keyFromPassphrase(doc, source, await passphrase(), path);
}

interface NewVault {
  readonly doc: VaultDocument;
  readonly key: Buffer;
}

/** Makes the key and header of a new vault. Slow work (Argon2id, a prompt) happens here, before any lock is taken. */
async function prepareNewVault(
  options: FileVaultOptions,
  passphrase: () => Promise<string>,
): Promise<NewVault> {
  const id = randomBytes(16).toString('hex');
  let source: VaultKeySource;
  let key: Buffer;
  if (options.keyFromOsKeychain === true && (await probeOsKeychain())) {
    source = { source: 'os-keychain' };
    key = randomBytes(KEY_LENGTH);
  } else {
    const params = assertKdfParams(options.kdfParams ?? DEFAULT_KDF_PARAMS);
    const salt = randomBytes(SALT_LENGTH);
    key = await deriveKey(await passphrase(), salt, params, KEY_LENGTH);
    source = { source: 'passphrase', kdf: 'argon2id', salt: salt.toString('base64'), params };
  }
  const check = seal(key, CHECK_PLAINTEXT, checkAad(id)).toString('base64');
  return { key, doc: { format: VAULT_FORMAT, version: VAULT_VERSION, id, key: source, check, entries: [] } };
}

/**
 * Opens the encrypted vault file at `options.path`, creating it on first use, and returns a {@link SecretStore} on it.
 *
 * Each value is sealed with AES-256-GCM under the vault key, with the entry's identity (format version, workspace,
 * project, name) as associated data. The key is Argon2id over the passphrase with the file's random salt and
 * parameters (parameters below the floors are refused), or a random key kept in the OS keychain. It is derived once
 * here and kept by the returned store; values are read from the file on each call and not cached.
 *
 * Writes re-read the file under an exclusive lock file and replace it atomically, so concurrent processes never
 * lose each other's writes. Errors: `PASSPHRASE_REQUIRED`, `PASSPHRASE_INCORRECT`, `KDF_PARAMS_TOO_WEAK`,
 * `VAULT_CORRUPT` (the file is never overwritten), `VAULT_BUSY`, `VAULT_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const store = await openFileVault({ path: `${home}/vault.json`, passphrase: process.env.AGENTSECRETS_PASSPHRASE });
 * await store.set({ workspace: 'local', project: 'demo' }, 'API_KEY', 'k-123');
 * ```
 */
export async function openFileVault(options: FileVaultOptions): Promise<SecretStore> {
  if (typeof options?.path !== 'string' || options.path.length === 0) {
    throw new AgentSecretsError('INVALID_ARGUMENT', 'openFileVault needs the path of the vault file', {
      hint: 'pass the file path, e.g. { path: join(home, "vault.json") }',
    });
  }
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  if (!Number.isFinite(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new AgentSecretsError(
      'INVALID_ARGUMENT',
      'lockTimeoutMs must be a non-negative number of milliseconds',
      {
        hint: 'leave it out for the default of 10 000 ms',
      },
    );
  }
  const path = resolve(options.path);
  const lockPath = `${path}.lock`;
  const lockOptions = { timeoutMs: lockTimeoutMs };
  const passphrase = passphraseReader(options.passphrase, path);

  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw vaultIoError('create the vault directory', dir, error);
  }

  let opened = await readVault(path);
  let key: Buffer;
  if (opened !== undefined) {
    key = await unlock(opened, passphrase, path);
  } else {
    const fresh = await prepareNewVault(options, passphrase);
    const winner = await asVault(() =>
      withFileLock(lockPath, lockOptions, async (assertHeld) => {
        // Another process may have created the vault while we prepared ours: theirs wins, ours is discarded.
        const existing = await readVault(path);
        if (existing !== undefined) return existing;
        if (fresh.doc.key.source === 'os-keychain') {
          const encoded = fresh.key.toString('base64');
          await keychainCall('store the vault key', (k) =>
            k.setPassword(VAULT_KEY_SERVICE, fresh.doc.id, encoded),
          );
        }
        await writeFileAtomic(path, serializeVault(fresh.doc), { beforeRename: assertHeld });
        return fresh.doc;
      }),
    );
    if (winner === fresh.doc) {
      key = fresh.key;
    } else {
      fresh.key.fill(0);
      key = await unlock(winner, passphrase, path);
    }
    opened = winner;
  }
  return createFileVaultStore(path, lockPath, lockOptions, opened, key);
}

function createFileVaultStore(
  path: string,
  lockPath: string,
  lockOptions: { timeoutMs: number },
  opened: VaultDocument,
  key: Buffer,
): SecretStore {
  /** The file as it is now, checked to still be the vault this store unlocked. */
  const current = async (): Promise<VaultDocument> => {
    const doc = await readVault(path);
    if (doc === undefined) {
      throw new AgentSecretsError('VAULT_UNAVAILABLE', `vault ${path} was removed after it was opened`, {
        hint: 'run the command again; `agentsecrets init` creates a new vault',
      });
    }
    if (!sameVault(opened, doc)) {
      throw new AgentSecretsError(
        'VAULT_CORRUPT',
        `vault ${path} was replaced by a different vault after it was opened`,
        {
          hint: 'open it again (restart the proxy or run the command again)',
        },
      );
    }
    return doc;
  };

  const mutate = <T>(change: (doc: VaultDocument) => { result: T; changed: boolean }): Promise<T> =>
    asVault(() =>
      withFileLock(lockPath, lockOptions, async (assertHeld: AssertLockHeld) => {
        const doc = await current();
        const { result, changed } = change(doc);
        if (changed) await writeFileAtomic(path, serializeVault(doc), { beforeRename: assertHeld });
        return result;
      }),
    );

  const find = (doc: VaultDocument, ns: Namespace, name: string) =>
    doc.entries.findIndex((e) => e.workspace === ns.workspace && e.project === ns.project && e.name === name);

  return {
    backend: 'file',

    async get(ns, name) {
      const checked = assertNamespace(ns);
      assertSecretName(name);
      const doc = await current();
      const entry = doc.entries[find(doc, checked, name)];
      if (entry === undefined) return undefined;
      let plaintext: Buffer;
      try {
        plaintext = open(
          key,
          Buffer.from(entry.value, 'base64'),
          entryAad(checked.workspace, checked.project, name),
        );
      } catch (error) {
        throw new AgentSecretsError(
          'DECRYPT_FAILED',
          `secret ${name} in vault ${path} failed its integrity check`,
          {
            hint: 'the entry was altered, or copied from another name or project; set it again',
            cause: error,
          },
        );
      }
      try {
        return new SecretValue(name, plaintext);
      } finally {
        plaintext.fill(0);
      }
    },

    async set(ns, name, value) {
      const checked = assertNamespace(ns);
      assertSecretName(name);
      const bytes = toOwnedBytes(value);
      let sealed: string;
      try {
        sealed = seal(key, bytes, entryAad(checked.workspace, checked.project, name)).toString('base64');
      } finally {
        bytes.fill(0);
      }
      await mutate((doc) => {
        const entry = { workspace: checked.workspace, project: checked.project, name, value: sealed };
        const index = find(doc, checked, name);
        if (index === -1) doc.entries.push(entry);
        else doc.entries[index] = entry;
        return { result: undefined, changed: true };
      });
    },

    async delete(ns, name) {
      const checked = assertNamespace(ns);
      assertSecretName(name);
      return mutate((doc) => {
        const index = find(doc, checked, name);
        if (index === -1) return { result: false, changed: false };
        doc.entries.splice(index, 1);
        return { result: true, changed: true };
      });
    },

    async list(ns) {
      const checked = assertNamespace(ns);
      const doc = await current();
      return doc.entries
        .filter((e) => e.workspace === checked.workspace && e.project === checked.project)
        .map((e) => e.name)
        .sort();
    },

    async has(ns, name) {
      const checked = assertNamespace(ns);
      assertSecretName(name);
      const doc = await current();
      return find(doc, checked, name) !== -1;
    },

    revision() {
      // Every write replaces the file (a new inode, a new change time that no process can set back), so one stat
      // tells whether any value may have changed, in this process or another.
      return asVaultNow(() => fileStamp(path));
    },
  };
}
