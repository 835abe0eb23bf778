import type { SignedPolicy } from './envelopes.js';
import * as account from './internal/account.js';
import * as invites from './internal/invites.js';
import * as policy from './internal/policy.js';
import * as admin from './internal/roster-admin.js';
import * as secrets from './internal/secrets.js';
import { Transport } from './internal/transport.js';
import * as workspaces from './internal/workspaces.js';
import type { RosterPin, SignedRoster, VerifiedRoster } from './roster.js';
import type {
  Invite,
  OpenedWorkspace,
  PulledSecret,
  PushOutcome,
  SyncLocation,
  SyncSession,
  WorkspaceEntry,
} from './types.js';

/**
 * The zero-knowledge sync client: everything sent is ciphertext, a public key or an authentication key derived from
 * the password (never the password); everything received is checked against its wire schema and, where it carries
 * trust, against signatures pinned before it is used. A refusal is raised with the server's own error code.
 *
 * @example
 * ```ts
 * const client = new SyncClient('https://sync.example.com');
 * const session = await client.login('ana@example.com', password);
 * const { workspace } = await client.createWorkspace(session, 'team');
 * await client.push(session, { workspace, projectId: 'app', environment: 'default' }, [
 *   { name: 'STRIPE_KEY', value: Buffer.from('sk_live_…'), baseVersion: 0 },
 * ]);
 * ```
 */
export class SyncClient {
  readonly #http: Transport;

  constructor(server: string) {
    this.#http = new Transport(server);
  }

  /** The server's origin. */
  get server(): string {
    return this.#http.server;
  }

  /** Creates an account. The server answers the same whether or not the email was taken; log in to find out. */
  signup(email: string, password: string): Promise<void> {
    return account.signup(this.#http, email, password);
  }

  /** Logs in: derives the keys locally (refusing weak server parameters), proves them, opens the user's key pairs. */
  login(email: string, password: string): Promise<SyncSession> {
    return account.login(this.#http, email, password);
  }

  /** Ends the session on the server: its refresh and access tokens stop working at once. */
  logout(session: SyncSession): Promise<void> {
    return account.logout(this.#http, session);
  }

  /**
   * Creates a workspace: its key is made here and granted to ourselves, under a first roster that lists us as its
   * admin, both signed with our key. The server never sees the key.
   */
  createWorkspace(session: SyncSession, name: string): Promise<OpenedWorkspace> {
    return workspaces.createWorkspace(this.#http, session, name);
  }

  /** The workspaces we belong to, as the server lists them: nothing in these entries is trusted yet. */
  listWorkspaces(session: SyncSession): Promise<WorkspaceEntry[]> {
    return workspaces.listWorkspaces(this.#http, session);
  }

  /** Every version of a workspace's roster, oldest first (unverified). */
  rosterChain(session: SyncSession, workspaceId: string): Promise<SignedRoster[]> {
    return workspaces.rosterChain(this.#http, session, workspaceId);
  }

  /**
   * Opens a workspace: verifies its roster chain (against `pin`, or trusting its first version on first use), then
   * accepts our key grant only if an admin of that roster signed it for us, this workspace and a key version the
   * roster names. A workspace made before signed rosters is refused with what to do.
   */
  openWorkspace(
    session: SyncSession,
    entry: WorkspaceEntry,
    pin: RosterPin | undefined,
  ): Promise<OpenedWorkspace> {
    return workspaces.openWorkspace(this.#http, session, entry, pin);
  }

  /**
   * Pushes values, each as the version after its `baseVersion`, in one request the server applies all or nothing.
   * If any base is stale (someone pushed first) nothing is written and the stale names come back as conflicts.
   * Refused while the workspace key is due for rotation: nothing is encrypted under a key a removed member had.
   */
  push(
    session: SyncSession,
    at: SyncLocation,
    items: readonly { name: string; value: Uint8Array; baseVersion: number }[],
  ): Promise<PushOutcome> {
    return secrets.push(this.#http, session, at, items);
  }

  /**
   * The latest version of each secret, decrypted. A ciphertext that does not open at the coordinates the server
   * claims (swapped, moved, replayed) fails the pull with DECRYPT_FAILED; `minVersions` (what this client saw before)
   * refuses a server that rolls a secret back.
   */
  pull(
    session: SyncSession,
    at: SyncLocation,
    minVersions: Readonly<Record<string, number>> = {},
  ): Promise<PulledSecret[]> {
    return secrets.pull(this.#http, session, at, minVersions);
  }

  /** Invites an email to a workspace (admin). The answer does not say whether the email has an account. */
  invite(session: SyncSession, workspaceId: string, email: string): Promise<void> {
    return invites.invite(this.#http, session, workspaceId, email);
  }

  /**
   * Accepts the invites waiting for us, which publishes our public keys to the inviting admins. Returns them with
   * our own fingerprint, to read out to the admin.
   */
  acceptInvites(session: SyncSession): Promise<{ workspaceName: string; fingerprint: string }[]> {
    return invites.acceptInvites(this.#http, session);
  }

  /** Invites of a workspace (admin), with the invitee's keys and fingerprint once they have accepted. */
  invites(session: SyncSession, workspaceId: string): Promise<Invite[]> {
    return invites.listInvites(this.#http, session, workspaceId);
  }

  /**
   * Admits an invitee whose fingerprint the admin checked out of band: signs the next roster version with their
   * exact keys and grants them the workspace key. A fingerprint that does not match what the server presents is
   * refused before anything is signed.
   */
  admit(
    session: SyncSession,
    opened: OpenedWorkspace,
    email: string,
    expectedFingerprint: string,
  ): Promise<VerifiedRoster> {
    return admin.admit(this.#http, session, opened, email, expectedFingerprint);
  }

  /**
   * Changes roles or removes members (admin) in the next roster version. A removal raises the key version: the
   * signed request for a rotation, which the caller then performs with {@link SyncClient.rotate}. A workspace keeps
   * an admin.
   */
  changeMembers(
    session: SyncSession,
    opened: OpenedWorkspace,
    change: { readonly remove?: string; readonly setRole?: { userId: string; role: 'admin' | 'member' } },
  ): Promise<VerifiedRoster> {
    return admin.changeMembers(this.#http, session, opened, change);
  }

  /**
   * Rotates the workspace key (admin) to the version the newest roster asks for: a new key made here, granted to
   * exactly the members of that roster (never to a list the server hands out), and every secret re-encrypted under
   * it as its next version — in one request the server applies all or nothing.
   */
  rotate(session: SyncSession, opened: OpenedWorkspace): Promise<OpenedWorkspace> {
    return admin.rotate(this.#http, session, opened);
  }

  /**
   * Brings a workspace made before signed rosters under them (admin): a first roster listing only us, at a new key
   * version, then a rotation granting the new key to us alone. The old key (unverifiable) is used only to read the
   * stored secrets for re-encryption. Other members are admitted again with their fingerprints afterwards.
   */
  upgrade(session: SyncSession, entry: WorkspaceEntry): Promise<OpenedWorkspace> {
    return admin.upgrade(this.#http, session, entry);
  }

  /** The workspace's stored team policy (unverified: check it with `verifyPolicy` against the roster's admins). */
  getPolicy(session: SyncSession, workspaceId: string): Promise<SignedPolicy | null> {
    return policy.getPolicy(this.#http, session, workspaceId);
  }

  /** Stores a signed team policy (admin); its serial must be above the stored one. */
  putPolicy(session: SyncSession, signed: SignedPolicy): Promise<void> {
    return policy.putPolicy(this.#http, session, signed);
  }
}
