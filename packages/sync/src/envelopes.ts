import { open, seal, sign, verify } from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import { canonical } from './internal/canonical.js';

/**
 * Everything a secret's ciphertext is bound to. All of it is associated data, so a server that swaps two
 * ciphertexts, moves one to another project, environment or name, or replays an older version is caught.
 */
export interface SecretCoordinates {
  readonly workspaceId: string;
  readonly projectId: string;
  readonly environment: string;
  readonly name: string;
  /** The version this ciphertext is; each write carries the version it replaces plus one. */
  readonly version: number;
  /** The workspace key version it is sealed under (changes when a member is removed). */
  readonly keyVersion: number;
}

function secretAad(c: SecretCoordinates): string {
  return JSON.stringify([
    'agentsecrets/secret/v1',
    c.workspaceId,
    c.projectId,
    c.environment,
    c.name,
    c.version,
    c.keyVersion,
  ]);
}

/** Encrypts a secret value under the workspace key, bound to its coordinates. Base64 envelope. */
export function encryptSecret(
  workspaceKey: Uint8Array,
  value: Uint8Array | string,
  coords: SecretCoordinates,
): string {
  return seal(workspaceKey, value, secretAad(coords)).toString('base64');
}

/**
 * Decrypts a secret for the coordinates the client expects. A ciphertext made for other coordinates — another
 * name, project, environment, version or key version — fails with DECRYPT_FAILED.
 */
export function decryptSecret(
  workspaceKey: Uint8Array,
  ciphertext: string,
  coords: SecretCoordinates,
): Buffer {
  try {
    return open(workspaceKey, Buffer.from(ciphertext, 'base64'), secretAad(coords));
  } catch (e) {
    throw new AgentSecretsError(
      'DECRYPT_FAILED',
      `the stored value of ${coords.name} (version ${coords.version}) does not belong there`,
      { hint: 'the server returned a swapped, moved or replayed ciphertext; refusing it', cause: e },
    );
  }
}

/** One policy statement (an allowlist entry or a binding) as an admin signed it. */
export interface SignedPolicy {
  readonly workspaceId: string;
  /** Monotonic per workspace: a client refuses a serial lower than one it has seen (rollback). */
  readonly serial: number;
  readonly allowlist: readonly string[];
  readonly bindings: Readonly<Record<string, readonly { destination: string; methods: readonly string[] }[]>>;
  /** Base64 Ed25519 public key of the signing admin. */
  readonly signer: string;
  /** Base64 signature over the canonical statement. */
  readonly signature: string;
}

function statement(p: Omit<SignedPolicy, 'signature'>): string {
  return `agentsecrets/team-policy/v1\n${canonical({ ...p })}`;
}

/** Signs a workspace policy with an admin's signing key. */
export function signPolicy(
  policy: Omit<SignedPolicy, 'signer' | 'signature'>,
  signing: { publicKey: Uint8Array; privateKey: Uint8Array },
): SignedPolicy {
  const unsigned = { ...policy, signer: Buffer.from(signing.publicKey).toString('base64') };
  return { ...unsigned, signature: sign(statement(unsigned), signing.privateKey).toString('base64') };
}

/**
 * Accepts a policy only when it is signed by one of the workspace's admins (whose keys the client already trusts)
 * for this workspace, and is not older than the newest one this client has seen. Anything else is
 * POLICY_SIGNATURE_INVALID: a compromised server cannot widen where credentials may go.
 */
export function verifyPolicy(
  policy: SignedPolicy,
  expected: { workspaceId: string; adminSigningKeys: readonly string[]; minSerial: number },
): SignedPolicy {
  const { signature, ...unsigned } = policy;
  const fail = (why: string) =>
    new AgentSecretsError(
      'POLICY_SIGNATURE_INVALID',
      `the team policy of workspace ${expected.workspaceId} ${why}`,
      {
        hint: 'the server returned a policy no admin signed; it is ignored until an admin signs it again',
      },
    );
  if (policy.workspaceId !== expected.workspaceId) throw fail('is for another workspace');
  if (!expected.adminSigningKeys.includes(policy.signer))
    throw fail('is signed by someone who is not an admin');
  if (!verify(statement(unsigned), Buffer.from(signature, 'base64'), Buffer.from(policy.signer, 'base64'))) {
    throw fail('does not match its signature');
  }
  if (policy.serial < expected.minSerial)
    throw fail(`is older (serial ${policy.serial}) than one already seen`);
  return policy;
}
