import type { AuditEventInput } from '@agentsecrets/audit';
import { AgentSecretsError } from '@agentsecrets/errors';
import type { SecretStore } from '@agentsecrets/keychain';
import { type OpenedWorkspace, type SignedPolicy, userFingerprint } from '@agentsecrets/sync';
import type { OwnerKey } from './owner.js';
import { TeamAccess } from './team-access.js';
import {
  type TeamPolicy,
  TeamPolicyAdmin,
  type TeamPolicyDraft,
  TeamPolicyView,
  teamAllowlist,
} from './team-policy.js';
import { type TeamProject, TeamSecrets, type TeamSyncDiff } from './team-secrets.js';
import { deleteSession } from './team-session.js';
import type { TeamSyncState } from './team-state.js';

export type { TeamPolicy } from './team-policy.js';
export type { TeamProject, TeamSyncDiff } from './team-secrets.js';
export type { TeamSyncState } from './team-state.js';

/** A workspace as `workspace list` shows it: verified for the selected one, as the server says for the others. */
export interface TeamWorkspace {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly rotationPending: boolean;
  readonly verified: boolean;
}

/** What {@link TeamSync} works with, and nothing more. */
export interface TeamSyncParts {
  /** The vault: the session and the team trust record are kept in it. */
  readonly vault: SecretStore;
  /** `$AGENTSECRETS_HOME`, where sync.json is. */
  readonly home: string;
  /** `AGENTSECRETS_SERVER`: where sign-up and login go. */
  readonly server: string | undefined;
  /** The current project: its name (team projects are matched by name) and its secrets. */
  readonly project: TeamProject & { readonly name: string };
  /** Appends an audit event (refusals that mean tampering, by code). */
  readonly record: (event: AuditEventInput) => Promise<void>;
}

/**
 * Team sync for one home: sign-up, login, workspaces, and push/pull/diff of the current project's secrets through
 * the zero-knowledge client. The local store keeps working offline; sync only copies ciphertext in and out.
 *
 * What decides trust — the server and account the owner set up, the selected workspace, each workspace's pinned
 * roster and admins, and the accepted team policy — is kept in the vault ({@link teamTrust}), never in sync.json.
 */
export class TeamSync {
  readonly #access: TeamAccess;
  readonly #view: TeamPolicyView;
  readonly #secrets: TeamSecrets;
  readonly #policy: TeamPolicyAdmin;
  /**
   * Where the next push, pull or diff queues. One at a time: each may refresh the session, and the server ends the
   * whole session when one refresh token is used twice — as a long-lived process serving several callers at once (the
   * proxy's `GET /secrets/diff`) would otherwise do.
   */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(parts: TeamSyncParts) {
    this.#access = new TeamAccess({ ...parts, projectName: parts.project.name });
    this.#view = new TeamPolicyView(this.#access.trust, this.#access.state.file);
    this.#secrets = new TeamSecrets(this.#access, parts.project);
    this.#policy = new TeamPolicyAdmin(this.#access);
  }

  /**
   * The team policy of the selected workspace, for the engine: the one accepted into the vault. Nothing in a file
   * can add one: where the owner did not set sync up, there is none.
   */
  policy(): Promise<TeamPolicy> {
    return this.#view.policy();
  }

  /** {@link policy} without waiting, while sync.json was looked at recently; undefined when a look is due. */
  policyNow(): TeamPolicy | undefined {
    return this.#view.policyNow();
  }

  /** The accepted team allowlist entries (canonical text), for display. */
  allowlistEntries(): Promise<string[]> {
    return teamAllowlist(this.#access.trust);
  }

  /** Who is logged in where (from the vault) and the versions last seen; undefined when sync is not set up. */
  state(): Promise<TeamSyncState | undefined> {
    return this.#access.state.state();
  }

  /** Creates an account on the server and logs in (owner: sets up team sync on this machine). */
  async signup(email: string, password: string, owner: OwnerKey): Promise<void> {
    await this.#access.client().signup(email, password);
    await this.login(email, password, owner);
  }

  /**
   * Logs in; the session goes into the local vault. An owner action: the account and server become the ones whose
   * team policy this machine applies. The workspaces pinned for the same account on the same server are kept.
   */
  async login(email: string, password: string, _owner: OwnerKey): Promise<void> {
    const client = this.#access.client();
    const session = await client.login(email, password);
    await this.#access.saveSession(session);
    await this.#access.state.update((previous, file) => {
      const same = previous?.userId === session.userId && previous.server === client.server;
      return {
        trust: {
          version: 1,
          server: client.server,
          userId: session.userId,
          email: email.toLowerCase(),
          current: same ? previous.current : null,
          workspaces: same ? previous.workspaces : {},
        },
        file: same ? file : { versions: {}, lastSync: null },
      };
    });
  }

  /**
   * Revokes the session on the server and forgets it here; the team policy (and its bindings) stops applying, so
   * this is an owner action too. Local secrets stay.
   */
  async logout(_owner: OwnerKey): Promise<void> {
    const { client, session } = await this.#access.session();
    await client.logout(session).catch(() => undefined);
    await deleteSession(this.#access.vault);
    await this.#access.state.update((trust) => ({
      trust: trust === undefined ? undefined : { ...trust, current: null },
    }));
  }

  /** The workspaces we belong to: the selected one verified, the others as the server lists them. */
  async workspaces(): Promise<TeamWorkspace[]> {
    return this.#access.audited(async () => {
      const { client, session, trust } = await this.#access.session();
      const out: TeamWorkspace[] = [];
      for (const entry of await client.listWorkspaces(session)) {
        const pinned = trust.workspaces[entry.id];
        if (entry.id === trust.current && pinned !== undefined) {
          const { workspace: w } = await client.openWorkspace(session, entry, pinned);
          out.push({
            id: w.id,
            name: w.name,
            role: w.role,
            rotationPending: w.rotationPending,
            verified: true,
          });
        } else {
          out.push({
            id: entry.id,
            name: entry.name,
            role: entry.role,
            rotationPending: entry.rotationPending,
            verified: false,
          });
        }
      }
      await this.#access.saveSession(session);
      return out;
    });
  }

  /** Creates a workspace (owner): its first roster is ours, so it is pinned at once, and it becomes the selected one. */
  async createWorkspace(name: string, _owner: OwnerKey): Promise<{ id: string; name: string }> {
    const { client, session } = await this.#access.session();
    const opened = await client.createWorkspace(session, name);
    await this.#access.saveSession(session);
    await this.#access.state.remember(opened, { current: true });
    return { id: opened.workspace.id, name };
  }

  /**
   * Selects a workspace (owner). The first time, its roster is trusted on first use — unless `adminFingerprint` is
   * given, which must then be the fingerprint of one of its admins — and pinned from then on. Returns the admins'
   * fingerprints, to compare out of band.
   */
  async switchWorkspace(
    name: string,
    _owner: OwnerKey,
    options: { adminFingerprint?: string } = {},
  ): Promise<{
    id: string;
    name: string;
    admins: { email: string; fingerprint: string }[];
    pinnedNow: boolean;
  }> {
    return this.#access.audited(async () => {
      const { client, session, trust } = await this.#access.session();
      const entry = await this.#access.entry(client, session, name);
      const pinned = trust.workspaces[entry.id];
      const opened = await client.openWorkspace(session, entry, pinned);
      const admins = opened.roster.latest.members
        .filter((m) => m.role === 'admin')
        .map((m) => ({ email: m.email, fingerprint: userFingerprint(m.boxPublicKey, m.signingPublicKey) }));
      if (options.adminFingerprint !== undefined) {
        const wanted = options.adminFingerprint.replace(/\s+/g, '').toLowerCase();
        if (!admins.some((a) => a.fingerprint.replace(/\s+/g, '') === wanted)) {
          throw new AgentSecretsError(
            'ROSTER_INVALID',
            `no admin of ${entry.name} has that fingerprint; nothing was pinned`,
            { hint: 'check the fingerprint with the admin again, out of band' },
          );
        }
      }
      await this.#access.saveSession(session);
      await this.#access.state.remember(opened, { current: true });
      return { id: entry.id, name: entry.name, admins, pinnedNow: pinned === undefined };
    });
  }

  /**
   * Brings a workspace made before signed rosters under them (admin): a new key granted to us alone under a first
   * roster we sign; the other members are then admitted again with their fingerprints.
   */
  async upgradeWorkspace(
    name: string,
    _owner: OwnerKey,
    password: string,
  ): Promise<{ id: string; name: string }> {
    const loc = await this.#access.session();
    const { client, session } = loc;
    const entry = await this.#access.entry(client, session, name);
    const opened = await this.#access.signing(loc, password, (fresh) => client.upgrade(fresh, entry));
    await this.#access.saveSession(session);
    await this.#access.state.remember(opened, { current: true });
    return { id: entry.id, name: entry.name };
  }

  /** Local-only, remote-only and changed secrets, by name. */
  diff(): Promise<TeamSyncDiff> {
    return this.#oneAtATime(() => this.#secrets.diff());
  }

  /** Pushes new and changed secrets, all or nothing; a secret changed by someone else meanwhile is a conflict. */
  push(): Promise<{ pushed: string[]; conflicts: string[] }> {
    return this.#oneAtATime(() => this.#secrets.push());
  }

  /** Writes the remote secrets into the local store, and accepts a newer team policy (audited when refused). */
  pull(): Promise<{ pulled: string[] }> {
    return this.#oneAtATime(() => this.#secrets.pull());
  }

  #oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const done = this.#turn.then(work);
    this.#turn = done.catch(() => undefined);
    return done;
  }

  /** Changes the team policy (admin; asks for the account password again). */
  changePolicy(password: string, change: (draft: TeamPolicyDraft) => void): Promise<SignedPolicy> {
    return this.#policy.change(password, change);
  }

  /** Adds or removes team allowlist entries (admin; asks for the account password again). Canonical entries. */
  changeAllowlist(password: string, add: readonly string[], remove: readonly string[]): Promise<string[]> {
    return this.#policy.changeAllowlist(password, add, remove);
  }

  /** Binds a secret name to a destination in the team policy (admin; asks for the account password again). */
  bind(password: string, name: string, destination: string, methods: readonly string[]): Promise<void> {
    return this.#policy.bind(password, name, destination, methods);
  }

  /** Accepts pending invites (publishing our public keys) and returns our fingerprint to read out to the admin. */
  async acceptInvites(): Promise<{ workspaceName: string; fingerprint: string }[]> {
    const { client, session } = await this.#access.session();
    const out = await client.acceptInvites(session);
    await this.#access.saveSession(session);
    return out;
  }

  /**
   * Invites `email` to the current workspace; with the fingerprint they read out to you, admits them: the next
   * roster version, signed by you, lists their exact keys, and you grant them the workspace key.
   */
  async invite(
    email: string,
    admit?: { fingerprint: string; password: string },
  ): Promise<{ admitted: boolean; fingerprint: string | null }> {
    return this.#access.audited(async () => {
      const loc = await this.#access.admin();
      const { client, session, opened } = loc;
      const existing = (await client.invites(session, opened.workspace.id)).find(
        (i) => i.email === email.toLowerCase(),
      );
      if (existing === undefined) await client.invite(session, opened.workspace.id, email);
      if (admit !== undefined) {
        const { fingerprint, password } = admit;
        const roster = await this.#access.signing(loc, password, (fresh) =>
          client.admit(fresh, opened, email, fingerprint),
        );
        await this.#access.state.remember({ ...opened, roster });
        return { admitted: true, fingerprint };
      }
      await this.#access.saveSession(session);
      return { admitted: false, fingerprint: existing?.fingerprint ?? null };
    });
  }

  /** Members of the current workspace as the verified roster lists them. */
  async members(): Promise<{ userId: string; email: string; role: string; fingerprint: string }[]> {
    return this.#access.audited(async () => {
      const { opened } = await this.#access.location();
      return opened.roster.latest.members.map((m) => ({
        userId: m.userId,
        email: m.email,
        role: m.role,
        fingerprint: userFingerprint(m.boxPublicKey, m.signingPublicKey),
      }));
    });
  }

  async #member(email: string) {
    const loc = await this.#access.admin();
    const member = loc.opened.roster.latest.members.find((m) => m.email === email.toLowerCase());
    if (member === undefined) {
      throw new AgentSecretsError(
        'NOT_A_MEMBER',
        `${email.slice(0, 100)} is not a member of ${loc.opened.workspace.name}`,
        {
          hint: 'see `agentsecrets workspace members`',
        },
      );
    }
    return { ...loc, member };
  }

  /** Promotes or demotes a member (admin), in the next signed roster version. */
  async setRole(email: string, role: 'admin' | 'member', password: string): Promise<void> {
    await this.#access.audited(async () => {
      const loc = await this.#member(email);
      const { client, opened, member } = loc;
      const roster = await this.#access.signing(loc, password, (fresh) =>
        client.changeMembers(fresh, opened, { setRole: { userId: member.userId, role } }),
      );
      await this.#access.state.remember({ ...opened, roster });
    });
  }

  /**
   * Removes a member (admin): the next signed roster drops them and asks for a new key, which is made and granted to
   * the remaining members at once. Returns whether the rotation is done (else the next admin sync does it).
   */
  async remove(email: string, password: string): Promise<{ rotated: boolean }> {
    return this.#access.audited(async () => {
      const loc = await this.#member(email);
      const { client, session, opened, member } = loc;
      const roster = await this.#access.signing(loc, password, (fresh) =>
        client.changeMembers(fresh, opened, { remove: member.userId }),
      );
      const due: OpenedWorkspace = {
        ...opened,
        roster,
        workspace: { ...opened.workspace, rotationPending: true },
      };
      await this.#access.state.remember(due);
      try {
        await this.#access.state.remember(await client.rotate(session, due));
        return { rotated: true };
      } catch {
        return { rotated: false };
      }
    });
  }
}
