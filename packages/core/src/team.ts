import { AgentSecretsError, toAgentSecretsError } from '@agentsecrets/errors';
import {
  type OpenedWorkspace,
  type SignedPolicy,
  SyncClient,
  type SyncLocation,
  type SyncSession,
  signPolicy,
  userFingerprint,
  type WorkspaceEntry,
} from '@agentsecrets/sync';
import type { AgentSecrets } from './agent-secrets.js';
import { type TeamTrust, teamTrust } from './anchor.js';
import type { OwnerKey } from './owner.js';
import { canonicalBinding, canonicalEntries } from './policy.js';
import { acceptPolicy, storedPolicy, type TeamPolicy, TeamPolicyView, teamAllowlist } from './team-policy.js';
import { deleteSession, hasSession, loadSession as loadFromVault, saveSession } from './team-session.js';
import { type SyncState, TeamState } from './team-state.js';

export type { TeamPolicy } from './team-policy.js';
export type { SyncState } from './team-state.js';

/** A workspace as `workspace list` shows it: verified for the selected one, as the server says for the others. */
export interface WorkspaceInfo {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly rotationPending: boolean;
  readonly verified: boolean;
}

const ENVIRONMENT = 'default';
/** Refusals that mean the server (or someone) tampered with what it serves: each is audited. */
const TAMPERING = new Set([
  'KEY_GRANT_INVALID',
  'ROSTER_INVALID',
  'POLICY_SIGNATURE_INVALID',
  'POLICY_ROLLBACK',
]);

/** What `secrets diff` reports, by name only. */
export interface SyncDiff {
  readonly localOnly: string[];
  readonly remoteOnly: string[];
  readonly changed: string[];
  readonly same: string[];
}

function notLoggedIn(): AgentSecretsError {
  return new AgentSecretsError('UNAUTHORIZED', 'not logged in to a sync server', {
    hint: 'set AGENTSECRETS_SERVER and run `agentsecrets login EMAIL` (or `agentsecrets signup EMAIL`)',
  });
}

function noWorkspace(): AgentSecretsError {
  return new AgentSecretsError('PROJECT_NOT_FOUND', 'no sync workspace is selected', {
    hint: 'run `agentsecrets workspace create NAME` or `agentsecrets workspace switch NAME`',
  });
}

/**
 * Team sync for one home: sign-up, login, workspaces, and push/pull/diff of the current project's secrets through
 * the zero-knowledge client. The local store keeps working offline; sync only copies ciphertext in and out.
 *
 * What decides trust — the server and account the owner set up, the selected workspace, each workspace's pinned
 * roster and admins, and the accepted team policy — is kept in the vault ({@link teamTrust}), never in sync.json.
 */
export class TeamSync {
  readonly #core: AgentSecrets;
  readonly #server: string | undefined;
  readonly #trust: ReturnType<typeof teamTrust>;
  readonly #state: TeamState;
  readonly #view: TeamPolicyView;

  constructor(core: AgentSecrets, server: string | undefined) {
    this.#core = core;
    this.#server = server;
    this.#trust = teamTrust(core.store);
    this.#state = new TeamState(this.#trust, core.paths.home);
    this.#view = new TeamPolicyView(this.#trust, this.#state.file);
  }

  /**
   * The team policy of the selected workspace, for the engine: the one accepted into the vault. Nothing in a file
   * can add one: where the owner did not set sync up, there is none.
   */
  policy(): Promise<TeamPolicy> {
    return this.#view.policy();
  }

  /** The accepted team allowlist entries (canonical text), for display. */
  allowlistEntries(): Promise<string[]> {
    return teamAllowlist(this.#trust);
  }

  /** Who is logged in where (from the vault) and the versions last seen; undefined when sync is not set up. */
  state(): Promise<SyncState | undefined> {
    return this.#state.state();
  }

  #client(server?: string): SyncClient {
    const url = server ?? this.#server;
    if (url === undefined || url === '') {
      throw new AgentSecretsError('CONFIG_INVALID', 'no sync server is configured', {
        hint: 'set AGENTSECRETS_SERVER to the sync server URL',
      });
    }
    return new SyncClient(url);
  }

  async #session(): Promise<{ trust: TeamTrust; client: SyncClient; session: SyncSession }> {
    const trust = await this.#state.trust();
    if (trust === undefined) {
      if (await hasSession(this.#core.store)) {
        throw new AgentSecretsError(
          'UNAUTHORIZED',
          'team sync on this machine was set up by an older version that kept its trust in sync.json',
          {
            hint: 'run `agentsecrets login EMAIL` again (it asks for the owner passphrase), then `workspace switch NAME`',
          },
        );
      }
      throw notLoggedIn();
    }
    return {
      trust,
      client: this.#client(trust.server),
      session: await loadFromVault(this.#core.store, notLoggedIn),
    };
  }

  /** Records a refusal that means tampering (by key name, never a value), then lets it through. */
  async #audited<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      const code = toAgentSecretsError(e).code;
      if (TAMPERING.has(code)) await this.#refusal(code);
      throw e;
    }
  }

  async #refusal(reason: string): Promise<void> {
    await this.#core
      .record({
        transport: 'cli',
        agent_id: null,
        method: null,
        target: null,
        secret_keys: [],
        styles: [],
        status: 'BLOCKED',
        reason,
        http_status: null,
        redacted: false,
        duration_ms: 0,
      })
      .catch(() => undefined);
  }

  /** Creates an account on the server and logs in (owner: sets up team sync on this machine). */
  async signup(email: string, password: string, owner: OwnerKey): Promise<void> {
    await this.#client().signup(email, password);
    await this.login(email, password, owner);
  }

  /**
   * Logs in; the session goes into the local vault. An owner action: the account and server become the ones whose
   * team policy this machine applies. The workspaces pinned for the same account on the same server are kept.
   */
  async login(email: string, password: string, _owner: OwnerKey): Promise<void> {
    const client = this.#client();
    const session = await client.login(email, password);
    await saveSession(this.#core.store, session);
    await this.#state.update((previous, file) => {
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
    const { client, session } = await this.#session();
    await client.logout(session).catch(() => undefined);
    await deleteSession(this.#core.store);
    await this.#state.update((trust) => ({
      trust: trust === undefined ? undefined : { ...trust, current: null },
    }));
  }

  async #entry(client: SyncClient, session: SyncSession, nameOrId: string): Promise<WorkspaceEntry> {
    const entry = (await client.listWorkspaces(session)).find(
      (w) => w.id === nameOrId || w.name === nameOrId,
    );
    if (entry === undefined) {
      throw new AgentSecretsError(
        'PROJECT_NOT_FOUND',
        `no workspace named ${nameOrId.slice(0, 64)} on the server (or you are no longer a member)`,
        { hint: 'see `agentsecrets workspace list`' },
      );
    }
    return entry;
  }

  /** The workspaces we belong to: the selected one verified, the others as the server lists them. */
  async workspaces(): Promise<WorkspaceInfo[]> {
    return this.#audited(async () => {
      const { client, session, trust } = await this.#session();
      const out: WorkspaceInfo[] = [];
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
      await saveSession(this.#core.store, session);
      return out;
    });
  }

  /** Creates a workspace (owner): its first roster is ours, so it is pinned at once, and it becomes the selected one. */
  async createWorkspace(name: string, _owner: OwnerKey): Promise<{ id: string; name: string }> {
    const { client, session } = await this.#session();
    const opened = await client.createWorkspace(session, name);
    await saveSession(this.#core.store, session);
    await this.#state.remember(opened, { current: true });
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
    return this.#audited(async () => {
      const { client, session, trust } = await this.#session();
      const entry = await this.#entry(client, session, name);
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
      await saveSession(this.#core.store, session);
      await this.#state.remember(opened, { current: true });
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
    const loc = await this.#session();
    const { client, session } = loc;
    const entry = await this.#entry(client, session, name);
    const opened = await this.#signing(loc, password, (fresh) => client.upgrade(fresh, entry));
    await saveSession(this.#core.store, session);
    await this.#state.remember(opened, { current: true });
    return { id: entry.id, name: entry.name };
  }

  /**
   * Changes the team policy (admin). Asks for the account password again: a fresh login proves it and yields the
   * signing key, so an agent holding a logged-in session cannot widen where credentials go.
   */
  async changePolicy(
    password: string,
    change: (p: {
      allowlist: string[];
      bindings: Record<string, { destination: string; methods: string[] }[]>;
    }) => void,
  ): Promise<SignedPolicy> {
    return this.#audited(async () => {
      const { client, trust, opened } = await this.#location();
      const stored = storedPolicy(trust);
      const fresh = await client.login(trust.email, password);
      try {
        const newer = await acceptPolicy(client, fresh, opened, stored, true);
        const base = newer ?? stored;
        const draft = {
          allowlist: [...(base?.allowlist ?? [])],
          bindings: Object.fromEntries(
            Object.entries(base?.bindings ?? {}).map(([k, v]) => [
              k,
              v.map((b) => ({ destination: b.destination, methods: [...b.methods] })),
            ]),
          ),
        };
        change(draft);
        const signed = signPolicy(
          {
            workspaceId: opened.workspace.id,
            serial: (base?.serial ?? 0) + 1,
            allowlist: draft.allowlist,
            bindings: draft.bindings,
          },
          fresh.userKeys.signing,
        );
        await client.putPolicy(fresh, signed);
        await this.#state.remember(opened, { policy: signed });
        return signed;
      } finally {
        await client.logout(fresh).catch(() => undefined);
      }
    });
  }

  /** Adds or removes team allowlist entries (admin; asks for the account password again). Canonical entries. */
  async changeAllowlist(
    password: string,
    add: readonly string[],
    remove: readonly string[],
  ): Promise<string[]> {
    const added = canonicalEntries(add);
    const removed = canonicalEntries(remove);
    const signed = await this.changePolicy(password, (p) => {
      p.allowlist = [...new Set([...p.allowlist.filter((e) => !removed.includes(e)), ...added])].sort();
    });
    return [...signed.allowlist];
  }

  /** Binds a secret name to a destination in the team policy (admin; asks for the account password again). */
  async bind(password: string, name: string, destination: string, methods: readonly string[]): Promise<void> {
    const record = canonicalBinding(destination, methods);
    await this.changePolicy(password, (p) => {
      p.bindings[name] = [
        ...(p.bindings[name] ?? []).filter((b) => b.destination !== record.destination),
        record,
      ];
    });
  }

  /**
   * The selected workspace, verified: its roster against the pin, our key grant against the roster. An admin client
   * rotates the key first when the roster asks for it; a rotation the server claims but no admin signed is refused
   * (audited) and ignored.
   */
  async #location(): Promise<{
    trust: TeamTrust;
    client: SyncClient;
    session: SyncSession;
    opened: OpenedWorkspace;
    at: SyncLocation;
  }> {
    const { trust, client, session } = await this.#session();
    if (trust.current === null) throw noWorkspace();
    const pinned = trust.workspaces[trust.current];
    if (pinned === undefined) throw noWorkspace();
    const entry = await this.#entry(client, session, trust.current);
    let opened = await client.openWorkspace(session, entry, pinned);
    if (opened.serverClaimsRotation) await this.#refusal('ROTATION_UNSIGNED');
    if (opened.workspace.rotationPending && opened.workspace.role === 'admin') {
      opened = await client.rotate(session, opened);
    }
    await this.#state.remember(opened);
    // Projects are matched by name inside a team workspace: each machine has its own local ids.
    return {
      trust,
      client,
      session,
      opened,
      at: { workspace: opened.workspace, projectId: this.#core.project.name, environment: ENVIRONMENT },
    };
  }

  #versionKey(at: SyncLocation, name: string): string {
    return `${at.workspace.id}/${at.projectId}/${at.environment}/${name}`;
  }

  async #compare() {
    const loc = await this.#location();
    const file = await this.#state.readFile();
    const prefix = `${loc.at.workspace.id}/${loc.at.projectId}/${loc.at.environment}/`;
    const minVersions: Record<string, number> = {};
    for (const [k, v] of Object.entries(file.versions)) {
      if (k.startsWith(prefix)) minVersions[k.slice(prefix.length)] = v;
    }
    const remote = new Map((await loc.client.pull(loc.session, loc.at, minVersions)).map((s) => [s.name, s]));
    const ns = this.#core.namespace;
    const local = new Map<string, Buffer>();
    for (const name of await this.#core.store.list(ns)) {
      const v = await this.#core.store.get(ns, name);
      if (v !== undefined) local.set(name, v.bytes());
    }
    return { ...loc, remote, local };
  }

  async #saveVersions(versions: Record<string, number>): Promise<void> {
    await this.#state.update((trust, file) => ({
      trust,
      file: { versions: { ...file.versions, ...versions }, lastSync: new Date().toISOString() },
    }));
  }

  /** Local-only, remote-only and changed secrets, by name. */
  async diff(): Promise<SyncDiff> {
    return this.#audited(async () => {
      const { remote, local, session } = await this.#compare();
      await saveSession(this.#core.store, session);
      const names = [...new Set([...remote.keys(), ...local.keys()])].sort();
      const out: SyncDiff = { localOnly: [], remoteOnly: [], changed: [], same: [] };
      for (const n of names) {
        const l = local.get(n);
        const r = remote.get(n);
        if (r === undefined) out.localOnly.push(n);
        else if (l === undefined) out.remoteOnly.push(n);
        else (l.equals(r.value) ? out.same : out.changed).push(n);
      }
      return out;
    });
  }

  /**
   * Pushes local secrets that are new or changed, each as the version after the one this client last saw, in one
   * request applied all or nothing. A secret someone else changed meanwhile is a conflict: then nothing is pushed,
   * and the conflicts are reported by name. Only ever under a key an admin granted us.
   */
  async push(): Promise<{ pushed: string[]; conflicts: string[] }> {
    return this.#audited(async () => {
      const { remote, local, session, client, at } = await this.#compare();
      const file = await this.#state.readFile();
      const versions: Record<string, number> = {};
      const items: { name: string; value: Buffer; baseVersion: number }[] = [];
      const conflicts: string[] = [];
      for (const [name, value] of local) {
        const r = remote.get(name);
        if (r?.value.equals(value)) {
          versions[this.#versionKey(at, name)] = r.version;
          continue;
        }
        const seen = file.versions[this.#versionKey(at, name)] ?? 0;
        if (r !== undefined && r.version !== seen) conflicts.push(name);
        else items.push({ name, value, baseVersion: r?.version ?? 0 });
      }
      let pushed: string[] = [];
      if (conflicts.length === 0 && items.length > 0) {
        const result = await client.push(session, at, items);
        if ('conflicts' in result) conflicts.push(...result.conflicts.map((c) => c.name));
        else {
          pushed = result.pushed.map((p) => p.name);
          for (const p of result.pushed) versions[this.#versionKey(at, p.name)] = p.version;
        }
      }
      await saveSession(this.#core.store, session);
      await this.#saveVersions(versions);
      return { pushed, conflicts };
    });
  }

  /** Writes the remote secrets into the local store, and accepts a newer team policy (audited when refused). */
  async pull(): Promise<{ pulled: string[] }> {
    return this.#audited(async () => {
      const { remote, local, session, at, client, opened, trust } = await this.#compare();
      const versions: Record<string, number> = {};
      const pulled: string[] = [];
      for (const [name, r] of remote) {
        if (!local.get(name)?.equals(r.value)) {
          await this.#core.setSecret(name, r.value);
          pulled.push(name);
        }
        versions[this.#versionKey(at, name)] = r.version;
      }
      await saveSession(this.#core.store, session);
      const newer = await acceptPolicy(client, session, opened, storedPolicy(trust));
      if (newer !== undefined) await this.#state.remember(opened, { policy: newer });
      await this.#saveVersions(versions);
      return { pulled };
    });
  }

  /** Accepts pending invites (publishing our public keys) and returns our fingerprint to read out to the admin. */
  async acceptInvites(): Promise<{ workspaceName: string; fingerprint: string }[]> {
    const { client, session } = await this.#session();
    const out = await client.acceptInvites(session);
    await saveSession(this.#core.store, session);
    return out;
  }

  /**
   * Runs roster work with the account password proved again: a fresh login yields the signing key, so an agent that
   * holds the logged-in session cannot admit anyone (itself included) or change roles through the CLI.
   */
  async #signing<T>(
    loc: { client: SyncClient; trust: TeamTrust },
    password: string,
    work: (fresh: SyncSession) => Promise<T>,
  ): Promise<T> {
    const fresh = await loc.client.login(loc.trust.email, password);
    try {
      return await work(fresh);
    } finally {
      await loc.client.logout(fresh).catch(() => undefined);
    }
  }

  async #admin() {
    const loc = await this.#location();
    if (loc.opened.workspace.role !== 'admin') {
      throw new AgentSecretsError('REQUEST_REFUSED', `you are not an admin of ${loc.opened.workspace.name}`, {
        hint: 'ask an admin of the workspace',
      });
    }
    return loc;
  }

  /**
   * Invites `email` to the current workspace; with the fingerprint they read out to you, admits them: the next
   * roster version, signed by you, lists their exact keys, and you grant them the workspace key.
   */
  async invite(
    email: string,
    admit?: { fingerprint: string; password: string },
  ): Promise<{ admitted: boolean; fingerprint: string | null }> {
    return this.#audited(async () => {
      const loc = await this.#admin();
      const { client, session, opened } = loc;
      const existing = (await client.invites(session, opened.workspace.id)).find(
        (i) => i.email === email.toLowerCase(),
      );
      if (existing === undefined) await client.invite(session, opened.workspace.id, email);
      if (admit !== undefined) {
        const { fingerprint, password } = admit;
        const roster = await this.#signing(loc, password, (fresh) =>
          client.admit(fresh, opened, email, fingerprint),
        );
        await this.#state.remember({ ...opened, roster });
        return { admitted: true, fingerprint };
      }
      await saveSession(this.#core.store, session);
      return { admitted: false, fingerprint: existing?.fingerprint ?? null };
    });
  }

  /** Members of the current workspace as the verified roster lists them. */
  async members(): Promise<{ userId: string; email: string; role: string; fingerprint: string }[]> {
    return this.#audited(async () => {
      const { opened } = await this.#location();
      return opened.roster.latest.members.map((m) => ({
        userId: m.userId,
        email: m.email,
        role: m.role,
        fingerprint: userFingerprint(m.boxPublicKey, m.signingPublicKey),
      }));
    });
  }

  async #member(email: string) {
    const loc = await this.#admin();
    const member = loc.opened.roster.latest.members.find((m) => m.email === email.toLowerCase());
    if (member === undefined) {
      throw new AgentSecretsError(
        'PROJECT_NOT_FOUND',
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
    await this.#audited(async () => {
      const loc = await this.#member(email);
      const { client, opened, member } = loc;
      const roster = await this.#signing(loc, password, (fresh) =>
        client.changeMembers(fresh, opened, { setRole: { userId: member.userId, role } }),
      );
      await this.#state.remember({ ...opened, roster });
    });
  }

  /**
   * Removes a member (admin): the next signed roster drops them and asks for a new key, which is made and granted to
   * the remaining members at once. Returns whether the rotation is done (else the next admin sync does it).
   */
  async remove(email: string, password: string): Promise<{ rotated: boolean }> {
    return this.#audited(async () => {
      const loc = await this.#member(email);
      const { client, session, opened, member } = loc;
      const roster = await this.#signing(loc, password, (fresh) =>
        client.changeMembers(fresh, opened, { remove: member.userId }),
      );
      const due: OpenedWorkspace = {
        ...opened,
        roster,
        workspace: { ...opened.workspace, rotationPending: true },
      };
      await this.#state.remember(due);
      try {
        await this.#state.remember(await client.rotate(session, due));
        return { rotated: true };
      } catch {
        return { rotated: false };
      }
    });
  }
}
