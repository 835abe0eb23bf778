import { assertKdfParams, type KdfParams } from '@agentsecrets/crypto';
import { AgentSecretsError, isAgentSecretsError } from '@agentsecrets/errors';
import { NAMESPACE_ID_PATTERN, SECRET_NAME_PATTERN } from '@agentsecrets/names';
import { z } from 'zod';

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

/** Base64 of at least `minBytes` bytes. */
const base64 = (minBytes: number) =>
  z
    .string()
    .min(Math.ceil(minBytes / 3) * 4)
    .regex(BASE64);

// The file format. Unknown fields are dropped (and not written back); KDF parameters are checked after the shape, by
// crypto's floors, so a weakened file is KDF_PARAMS_TOO_WEAK rather than merely malformed.
const KeySourceSchema = z.discriminatedUnion('source', [
  z.object({
    source: z.literal('passphrase'),
    kdf: z.literal('argon2id'),
    salt: base64(16),
    params: z.unknown(),
  }),
  z.object({ source: z.literal('os-keychain') }),
]);
const EntrySchema = z.object({
  workspace: z.string().regex(NAMESPACE_ID_PATTERN),
  project: z.string().regex(NAMESPACE_ID_PATTERN),
  name: z.string().regex(SECRET_NAME_PATTERN),
  value: base64(1),
});
const VaultSchema = z.object({
  format: z.literal(VAULT_FORMAT),
  version: z.literal(VAULT_VERSION),
  id: z.string().regex(ID),
  key: KeySourceSchema,
  check: base64(16),
  entries: z.array(EntrySchema),
});

function corrupt(path: string, what: string, cause?: unknown): AgentSecretsError {
  return new AgentSecretsError('VAULT_CORRUPT', `vault ${path} is not a valid vault file: ${what}`, {
    hint: `the file was left untouched; restore it from a backup, or move it aside and run \`agentsecrets init\` to start a new vault`,
    cause,
  });
}

function checkKdfParams(raw: unknown, path: string): KdfParams {
  try {
    return assertKdfParams(raw);
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
}

/** Parses and validates a vault file; anything unexpected is `VAULT_CORRUPT`, weakened KDF parameters `KDF_PARAMS_TOO_WEAK`. */
export function parseVault(text: string, path: string): VaultDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw corrupt(path, 'it is not JSON', error);
  }
  const head = z.object({ format: z.literal(VAULT_FORMAT), version: z.unknown() }).safeParse(raw);
  if (!head.success) throw corrupt(path, 'it is not an agentsecrets vault');
  const { version } = head.data;
  if (typeof version === 'number' && version > VAULT_VERSION) {
    throw new AgentSecretsError(
      'VAULT_CORRUPT',
      `vault ${path} has format version ${version}, newer than this agentsecrets reads (${VAULT_VERSION})`,
      { hint: 'upgrade agentsecrets; the file was left untouched' },
    );
  }
  const parsed = VaultSchema.safeParse(raw);
  if (!parsed.success) {
    // Names the field, never its content: the file's own text is not shown.
    const where = parsed.error.issues[0]?.path.join('.') || '(top level)';
    throw corrupt(path, `invalid field ${where}`);
  }
  const doc = parsed.data;
  const key: VaultKeySource =
    doc.key.source === 'passphrase'
      ? {
          source: 'passphrase',
          kdf: 'argon2id',
          salt: doc.key.salt,
          params: checkKdfParams(doc.key.params, path),
        }
      : { source: 'os-keychain' };
  const seen = new Set<string>();
  for (const entry of doc.entries) {
    const identity = entryIdentity(entry.workspace, entry.project, entry.name);
    if (seen.has(identity)) throw corrupt(path, `secret ${entry.name} appears twice`);
    seen.add(identity);
  }
  return {
    format: VAULT_FORMAT,
    version: VAULT_VERSION,
    id: doc.id,
    key,
    check: doc.check,
    entries: doc.entries,
  };
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
