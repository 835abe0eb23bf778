import { sign, verify } from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import { canonical, statementHash } from './internal/canonical.js';
import { userFingerprint } from './keys.js';

/** One member as the admins admitted them: the exact public keys whose fingerprint was checked out of band. */
export interface RosterMember {
  readonly userId: string;
  readonly email: string;
  readonly role: 'admin' | 'member';
  /** Base64 X25519 public key: what the workspace key is sealed to. */
  readonly boxPublicKey: string;
  /** Base64 Ed25519 public key: what an admin signs rosters, key grants and team policy with. */
  readonly signingPublicKey: string;
}

/**
 * One version of a workspace's membership, signed by an admin of the version before it (the first by its creator).
 * The versions form a hash chain, so a server can neither forge, reorder nor fork it without a client noticing; it
 * can only withhold the newest versions.
 */
export interface SignedRoster {
  readonly workspaceId: string;
  /** 1 for the first version, then +1 each change. */
  readonly serial: number;
  /** Hex SHA-256 of the previous signed version ({@link rosterHash}); null for the first. */
  readonly prev: string | null;
  /**
   * The workspace key version members hold from this roster on. A roster that removes someone raises it: that is
   * the one way a key rotation is requested, and only admins can sign it.
   */
  readonly keyVersion: number;
  readonly members: readonly RosterMember[];
  /** Base64 Ed25519 public key of the admin who signed this version. */
  readonly signer: string;
  readonly signature: string;
}

/** What a client pins of a workspace's roster: its first version, and the newest version it has verified. */
export interface RosterPin {
  /** {@link rosterHash} of version 1: fixed for the life of the workspace. */
  readonly genesis: string;
  readonly serial: number;
  readonly hash: string;
}

/** A roster chain that verified from its pinned first version to its newest. */
export interface VerifiedRoster {
  readonly chain: readonly SignedRoster[];
  readonly latest: SignedRoster;
  /** The pin to keep for next time. */
  readonly pin: RosterPin;
}

/**
 * A workspace key sealed to one member, signed by an admin: the member accepts a key only with a grant that an admin
 * of its verified roster signed for exactly this workspace, key version and its own keys.
 */
export interface KeyGrant {
  readonly workspaceId: string;
  readonly keyVersion: number;
  /** The roster version the granting admin acted on: the recipient and the signer's role are checked there. */
  readonly rosterSerial: number;
  readonly recipient: string;
  /** {@link userFingerprint} of the recipient's keys, as the admin checked it out of band. */
  readonly recipientFingerprint: string;
  /** The workspace key sealed to the recipient's box key (workspace id and key version sealed inside). */
  readonly sealedKey: string;
  readonly signer: string;
  readonly signature: string;
}

const ROSTER_LABEL = 'agentsecrets/roster/v1';
const GRANT_LABEL = 'agentsecrets/key-grant/v1';

type Signing = { readonly publicKey: Uint8Array; readonly privateKey: Uint8Array };
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function rosterError(workspaceId: string, why: string): AgentSecretsError {
  return new AgentSecretsError('ROSTER_INVALID', `the member roster of workspace ${workspaceId} ${why}`, {
    hint: 'the server returned a membership no admin signed; nothing was sealed or encrypted. Tell your admins',
  });
}

function grantError(workspaceId: string, why: string): AgentSecretsError {
  return new AgentSecretsError('KEY_GRANT_INVALID', `the workspace key offered for ${workspaceId} ${why}`, {
    hint: 'the server offered a key no admin granted you; refusing it, nothing was encrypted. Tell your admins',
  });
}

/** The hash that chains roster versions and that clients pin. */
export function rosterHash(roster: SignedRoster): string {
  return statementHash('agentsecrets/roster-hash/v1', roster);
}

/** Signs a roster version with an admin's signing key. */
export function signRoster(
  roster: Omit<SignedRoster, 'signer' | 'signature'>,
  signing: Signing,
): SignedRoster {
  const unsigned = { ...roster, signer: b64(signing.publicKey) };
  const signature = sign(`${ROSTER_LABEL}\n${canonical(unsigned)}`, signing.privateKey);
  return { ...unsigned, signature: signature.toString('base64') };
}

/** The signing keys of a roster version's admins. */
export function rosterAdmins(roster: SignedRoster): string[] {
  return roster.members.filter((m) => m.role === 'admin').map((m) => m.signingPublicKey);
}

function checkShape(r: SignedRoster, workspaceId: string): void {
  if (r.workspaceId !== workspaceId) throw rosterError(workspaceId, 'belongs to another workspace');
  const ids = new Set(r.members.map((m) => m.userId));
  if (ids.size !== r.members.length)
    throw rosterError(workspaceId, `lists a member twice (version ${r.serial})`);
  if (rosterAdmins(r).length === 0) throw rosterError(workspaceId, `has no admin (version ${r.serial})`);
  const { signature, ...unsigned } = r;
  const ok = verify(
    `${ROSTER_LABEL}\n${canonical(unsigned)}`,
    Buffer.from(signature, 'base64'),
    Buffer.from(r.signer, 'base64'),
  );
  if (!ok) throw rosterError(workspaceId, `does not match its signature (version ${r.serial})`);
}

/**
 * Verifies a roster chain: version 1 signed by one of its own admins (and equal to the pinned first version, when
 * there is a pin), each later version chained to the one before and signed by an admin of the one before, no member
 * removed or re-keyed without a new key version, and the pinned newest version still in the chain (no rollback, no
 * fork). Without a pin, the first version is trusted on first use.
 */
export function verifyRosterChain(
  chain: readonly SignedRoster[],
  expected: { readonly workspaceId: string; readonly pin?: RosterPin | undefined },
): VerifiedRoster {
  const ws = expected.workspaceId;
  if (chain.length === 0) throw rosterError(ws, 'is missing');
  const hashes: string[] = [];
  for (const [i, r] of chain.entries()) {
    if (r.serial !== i + 1) throw rosterError(ws, `skips or repeats a version (${r.serial})`);
    checkShape(r, ws);
    if (i === 0) {
      if (r.prev !== null) throw rosterError(ws, 'does not start at its first version');
      if (!rosterAdmins(r).includes(r.signer)) throw rosterError(ws, 'was not created by one of its admins');
    } else {
      const before = chain[i - 1]!;
      if (r.prev !== hashes[i - 1]) throw rosterError(ws, `is not a chain (version ${r.serial})`);
      if (!rosterAdmins(before).includes(r.signer))
        throw rosterError(ws, `version ${r.serial} is signed by someone who was not an admin`);
      if (r.keyVersion < before.keyVersion)
        throw rosterError(ws, `version ${r.serial} goes back to an older key`);
      const now = new Map(r.members.map((m) => [m.userId, m]));
      for (const m of before.members) {
        const still = now.get(m.userId);
        const rekeyed =
          still !== undefined &&
          (still.boxPublicKey !== m.boxPublicKey || still.signingPublicKey !== m.signingPublicKey);
        if ((still === undefined || rekeyed) && r.keyVersion === before.keyVersion) {
          throw rosterError(ws, `version ${r.serial} removes a member without rotating the key`);
        }
      }
    }
    hashes.push(rosterHash(r));
  }
  const pin = expected.pin;
  if (pin !== undefined) {
    if (hashes[0] !== pin.genesis) throw rosterError(ws, 'is not the one this machine pinned');
    if (chain.length < pin.serial) throw rosterError(ws, `was rolled back (version ${pin.serial} is gone)`);
    if (hashes[pin.serial - 1] !== pin.hash) throw rosterError(ws, `was rewritten (version ${pin.serial})`);
  }
  const latest = chain[chain.length - 1]!;
  return {
    chain,
    latest,
    pin: { genesis: hashes[0]!, serial: latest.serial, hash: hashes[hashes.length - 1]! },
  };
}

/** Finds `userId` in a roster version with exactly these keys. */
export function rosterMember(
  roster: SignedRoster,
  me: { readonly userId: string; readonly boxPublicKey: string; readonly signingPublicKey: string },
): RosterMember | undefined {
  return roster.members.find(
    (m) =>
      m.userId === me.userId &&
      m.boxPublicKey === me.boxPublicKey &&
      m.signingPublicKey === me.signingPublicKey,
  );
}

/** Signs a key grant for `recipient` (who must be in roster version `rosterSerial`). */
export function signGrant(
  grant: Omit<KeyGrant, 'signer' | 'signature' | 'recipientFingerprint'>,
  recipient: RosterMember,
  signing: Signing,
): KeyGrant {
  const unsigned = {
    ...grant,
    recipientFingerprint: userFingerprint(recipient.boxPublicKey, recipient.signingPublicKey),
    signer: b64(signing.publicKey),
  };
  const signature = sign(`${GRANT_LABEL}\n${canonical(unsigned)}`, signing.privateKey);
  return { ...unsigned, signature: signature.toString('base64') };
}

/**
 * Accepts a key grant only when it is for this workspace and for us (our user id and our exact keys), and was
 * signed by an admin of the verified roster version it names, whose key version it carries. Anything else is
 * KEY_GRANT_INVALID: a server cannot make a member encrypt under a key it chose.
 */
export function verifyGrant(
  grant: KeyGrant,
  roster: VerifiedRoster,
  me: { readonly userId: string; readonly boxPublicKey: string; readonly signingPublicKey: string },
): KeyGrant {
  const ws = roster.latest.workspaceId;
  if (grant.workspaceId !== ws) throw grantError(ws, 'is for another workspace');
  if (
    grant.recipient !== me.userId ||
    grant.recipientFingerprint !== userFingerprint(me.boxPublicKey, me.signingPublicKey)
  ) {
    throw grantError(ws, 'was granted to someone else');
  }
  const at = roster.chain[grant.rosterSerial - 1];
  if (at === undefined || at.serial !== grant.rosterSerial)
    throw grantError(ws, 'names a roster version that does not exist');
  if (at.keyVersion !== grant.keyVersion) throw grantError(ws, 'is not for the key version of its roster');
  if (!rosterAdmins(at).includes(grant.signer)) throw grantError(ws, 'is not signed by an admin');
  if (rosterMember(at, me) === undefined) throw grantError(ws, 'names a roster that does not list your key');
  const { signature, ...unsigned } = grant;
  const ok = verify(
    `${GRANT_LABEL}\n${canonical(unsigned)}`,
    Buffer.from(signature, 'base64'),
    Buffer.from(grant.signer, 'base64'),
  );
  if (!ok) throw grantError(ws, 'does not match its signature');
  return grant;
}
