import { assertKdfParams, type KdfParams } from '@agentsecrets/crypto';
import { AgentSecretsError, isAgentSecretsError } from '@agentsecrets/errors';

/** The `format` field of every vault file. */
export const VAULT_FORMAT = 'agentsecrets-vault';
/** The vault format version this code writes and reads. */
export const VAULT_VERSION = 1;
/** The known string sealed as the check value: opening it proves the key before any entry is touched. */
export const CHECK_PLAINTEXT = 'agentsecrets vault key check';
/** The keychain service under which vault keys are kept when `keyFromOsKeychain` is used; the account is the vault id. */
export const VAULT_KEY_SERVICE = 'agentsecrets/vault-key';

/** How the vault key is obtained. */
export type VaultKeySource =
  | {
      readonly source: 'passphrase';
      readonly kdf: 'argon2id';
      /** Base64 of the random per-vault salt. */
      readonly salt: string;
      readonly params: KdfParams;
    }
  | { readonly source: 'os-keychain' };

/** One stored secret: its identity in clear (names are not secret), its value sealed. */
export interface VaultEntry {
  readonly workspace: string;
  readonly project: string;
  readonly name: string;
  /** Base64 of the crypto envelope sealing the value, with the entry's identity as associated data. */
  readonly value: string;
}

/** The whole vault file. */
export interface VaultDocument {
  readonly format: typeof VAULT_FORMAT;
  readonly version: typeof VAULT_VERSION;
  /** Random vault id (32 hex digits): names the vault key in the OS keychain and binds the check value. */
  readonly id: string;
  readonly key: VaultKeySource;
  /** Base64 envelope of {@link CHECK_PLAINTEXT}. */
  readonly check: string;
  entries: VaultEntry[];
}

const ID = /^[0-9a-f]{32}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const NAMESPACE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function corrupt(path: string, what: string, cause?: unknown): AgentSecretsError {
  return new AgentSecretsError('VAULT_CORRUPT', `vault ${path} is not a valid vault file: ${what}`, {
    hint: `the file was left untouched; restore it from a backup, or move it aside and run \`agentsecrets init\` to start a new vault`,
    cause,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isBase64(value: unknown, minBytes: number): value is string {
  return typeof value === 'string' && value.length >= Math.ceil(minBytes / 3) * 4 && BASE64.test(value);
}

function parseKey(raw: unknown, path: string): VaultKeySource {
  if (!isRecord(raw)) throw corrupt(path, 'no key description');
  if (raw.source === 'os-keychain') return { source: 'os-keychain' };
  if (raw.source !== 'passphrase') throw corrupt(path, 'unknown key source');
  if (raw.kdf !== 'argon2id') throw corrupt(path, 'unknown key derivation');
  if (!isBase64(raw.salt, 16)) throw corrupt(path, 'salt missing or shorter than 16 bytes');
  let params: KdfParams;
  try {
    params = assertKdfParams(raw.params);
  } catch (error) {
    if (isAgentSecretsError(error) && error.code === 'KDF_PARAMS_TOO_WEAK') {
      throw new AgentSecretsError(
        'KDF_PARAMS_TOO_WEAK',
        `vault ${path} asks for Argon2id parameters below the minimum this version accepts`,
        {
          hint: 'the file may have been edited to weaken its key derivation; restore it from a backup you trust',
          cause: error,
        },
      );
    }
    throw corrupt(path, 'invalid key derivation parameters', error);
  }
  return { source: 'passphrase', kdf: 'argon2id', salt: raw.salt, params };
}

function parseEntry(raw: unknown, index: number, path: string): VaultEntry {
  if (
    !isRecord(raw) ||
    typeof raw.workspace !== 'string' ||
    !NAMESPACE_ID.test(raw.workspace) ||
    typeof raw.project !== 'string' ||
    !NAMESPACE_ID.test(raw.project) ||
    typeof raw.name !== 'string' ||
    !SECRET_NAME.test(raw.name) ||
    !isBase64(raw.value, 1)
  ) {
    throw corrupt(path, `entry ${index} is malformed`);
  }
  return { workspace: raw.workspace, project: raw.project, name: raw.name, value: raw.value };
}

/** Parses and validates a vault file; anything unexpected is `VAULT_CORRUPT`, weakened KDF parameters `KDF_PARAMS_TOO_WEAK`. */
export function parseVault(text: string, path: string): VaultDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw corrupt(path, 'it is not JSON', error);
  }
  if (!isRecord(raw) || raw.format !== VAULT_FORMAT) throw corrupt(path, 'it is not an agentsecrets vault');
  if (raw.version !== VAULT_VERSION) {
    if (typeof raw.version === 'number' && raw.version > VAULT_VERSION) {
      throw new AgentSecretsError(
        'VAULT_CORRUPT',
        `vault ${path} has format version ${raw.version}, newer than this agentsecrets reads (${VAULT_VERSION})`,
        { hint: 'upgrade agentsecrets; the file was left untouched' },
      );
    }
    throw corrupt(path, 'unknown format version');
  }
  if (typeof raw.id !== 'string' || !ID.test(raw.id)) throw corrupt(path, 'invalid vault id');
  const key = parseKey(raw.key, path);
  if (!isBase64(raw.check, 16)) throw corrupt(path, 'invalid check value');
  if (!Array.isArray(raw.entries)) throw corrupt(path, 'no entry list');
  const entries = raw.entries.map((entry, index) => parseEntry(entry, index, path));
  const seen = new Set<string>();
  for (const entry of entries) {
    const identity = entryIdentity(entry.workspace, entry.project, entry.name);
    if (seen.has(identity)) throw corrupt(path, `secret ${entry.name} appears twice`);
    seen.add(identity);
  }
  return { format: VAULT_FORMAT, version: VAULT_VERSION, id: raw.id, key, check: raw.check, entries };
}

function compareEntries(a: VaultEntry, b: VaultEntry): number {
  if (a.workspace !== b.workspace) return a.workspace < b.workspace ? -1 : 1;
  if (a.project !== b.project) return a.project < b.project ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return 0;
}

/** The file text for `doc`: stable field and entry order, so two writes of the same content are identical. */
export function serializeVault(doc: VaultDocument): string {
  const ordered = {
    format: doc.format,
    version: doc.version,
    id: doc.id,
    key:
      doc.key.source === 'passphrase'
        ? { source: doc.key.source, kdf: doc.key.kdf, salt: doc.key.salt, params: doc.key.params }
        : { source: doc.key.source },
    check: doc.check,
    entries: [...doc.entries]
      .sort(compareEntries)
      .map((e) => ({ workspace: e.workspace, project: e.project, name: e.name, value: e.value })),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** A key that tells entries apart; ids and names cannot contain `/`. */
export function entryIdentity(workspace: string, project: string, name: string): string {
  return `${workspace}/${project}/${name}`;
}

/**
 * The associated data an entry is sealed with: format, version, workspace, project and name. An envelope copied to
 * another name or project, or into a vault of another format version, no longer opens.
 */
export function entryAad(workspace: string, project: string, name: string): string {
  return JSON.stringify([VAULT_FORMAT, VAULT_VERSION, 'entry', workspace, project, name]);
}

/** The associated data of the check value, bound to the vault id. */
export function checkAad(id: string): string {
  return JSON.stringify([VAULT_FORMAT, VAULT_VERSION, 'check', id]);
}

/** True when two documents describe the same vault and key (so a cached key still applies). */
export function sameVault(a: VaultDocument, b: VaultDocument): boolean {
  if (a.id !== b.id || a.key.source !== b.key.source) return false;
  if (a.key.source === 'passphrase' && b.key.source === 'passphrase') {
    return (
      a.key.salt === b.key.salt &&
      a.key.params.memoryKiB === b.key.params.memoryKiB &&
      a.key.params.iterations === b.key.params.iterations &&
      a.key.params.parallelism === b.key.params.parallelism
    );
  }
  return true;
}
