import { stat } from 'node:fs/promises';
import { AgentSecretsError } from '@agentsecrets/errors';
import {
  type AllowlistEntry,
  type Binding,
  parseAllowlistEntry,
  parseBinding,
} from '@agentsecrets/injection';
import type { SecretStore } from '@agentsecrets/keychain';
import {
  type SignedPolicy,
  SyncClient,
  type SyncLocation,
  type SyncSession,
  type SyncWorkspace,
  signPolicy,
  verifyPolicy,
} from '@agentsecrets/sync';
import { z } from 'zod';
import type { AgentSecrets } from './agent-secrets.js';
import { type HomePaths, readJsonFile, writeJsonFile } from './home.js';
import { canonicalBinding, canonicalEntries } from './policy.js';

const StateSchema = z
  .object({
    server: z.string(),
    email: z.string(),
    userId: z.string(),
    workspaceId: z.string().nullable(),
    versions: z.record(z.string(), z.number().int()),
    lastSync: z.string().nullable(),
    /** Admin signing keys pinned per workspace (first sight, or our own): team policy must be signed by one. */
    pins: z.record(z.string(), z.array(z.string())).default({}),
    /** The newest verified team policy per workspace (public and signed; re-verified whenever it is read). */
    policies: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
/** `$AGENTSECRETS_HOME/sync.json` (0600): who is logged in where, and the versions last seen. No secrets. */
export type SyncState = z.infer<typeof StateSchema>;

/** The team policy in force for the selected workspace, parsed for the engine. */
export interface TeamPolicy {
  readonly allowlist: readonly AllowlistEntry[];
  readonly bindings: ReadonlyMap<string, readonly Binding[]>;
}

const NO_POLICY: TeamPolicy = { allowlist: [], bindings: new Map() };

// The session (tokens and the unlocked user key pairs) lives in the local vault, never in a plain file.
const SESSION_NS = { workspace: 'agentsecrets-sync', project: 'session' };
const SESSION_KEY = 'SESSION';
const ENVIRONMENT = 'default';

/** What `secrets diff` reports, by name only. */
export interface SyncDiff {
  readonly localOnly: string[];
  readonly remoteOnly: string[];
  readonly changed: string[];
  readonly same: string[];
}

function syncPath(paths: HomePaths): string {
  return paths.home.endsWith('/') ? `${paths.home}sync.json` : `${paths.home}/sync.json`;
}

function notLoggedIn(): AgentSecretsError {
  return new AgentSecretsError('UNAUTHORIZED', 'not logged in to a sync server', {
    hint: 'set AGENTSECRETS_SERVER and run `agentsecrets login EMAIL` (or `agentsecrets signup EMAIL`)',
  });
}

async function saveSession(store: SecretStore, session: SyncSession): Promise<void> {
  const data = {
    userId: session.userId,
    email: session.email,
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    box: [
      Buffer.from(session.userKeys.box.publicKey).toString('base64'),
      Buffer.from(session.userKeys.box.privateKey).toString('base64'),
    ],
    signing: [
      Buffer.from(session.userKeys.signing.publicKey).toString('base64'),
      Buffer.from(session.userKeys.signing.privateKey).toString('base64'),
    ],
  };
  await store.set(SESSION_NS, SESSION_KEY, JSON.stringify(data));
}

async function loadSession(store: SecretStore): Promise<SyncSession> {
  const raw = await store.get(SESSION_NS, SESSION_KEY);
  if (raw === undefined) throw notLoggedIn();
  const d = JSON.parse(raw.text()) as {
    userId: string;
    email: string;
    accessToken: string;
    refreshToken: string;
    box: [string, string];
    signing: [string, string];
  };
  raw.dispose();
  const b = (t: string) => Buffer.from(t, 'base64');
  return {
    userId: d.userId,
    email: d.email,
    accessToken: d.accessToken,
    refreshToken: d.refreshToken,
    userKeys: {
      box: { publicKey: b(d.box[0]), privateKey: b(d.box[1]) },
      signing: { publicKey: b(d.signing[0]), privateKey: b(d.signing[1]) },
    },
  };
}

/**
 * Team sync for one home: sign-up, login, workspaces, and push/pull/diff of the current project's secrets through
 * the zero-knowledge client. The local store keeps working offline; sync only copies ciphertext in and out.
 */
export class TeamSync {
  readonly #core: AgentSecrets;
  readonly #server: string | undefined;

  constructor(core: AgentSecrets, server: string | undefined) {
    this.#core = core;
    this.#server = server;
  }

  async state(): Promise<SyncState | undefined> {
    return readJsonFile(syncPath(this.#core.paths), StateSchema);
  }

  async #saveState(state: SyncState): Promise<void> {
    await writeJsonFile(syncPath(this.#core.paths), StateSchema.parse(state));
  }

  #client(state?: SyncState): SyncClient {
    const server = state?.server ?? this.#server;
    if (server === undefined || server === '') {
      throw new AgentSecretsError('CONFIG_INVALID', 'no sync server is configured', {
        hint: 'set AGENTSECRETS_SERVER to the sync server URL',
      });
    }
    return new SyncClient(server);
  }

  async #session(): Promise<{ state: SyncState; client: SyncClient; session: SyncSession }> {
    const state = await this.state();
    if (state === undefined) throw notLoggedIn();
    const client = this.#client(state);
    return { state, client, session: await loadSession(this.#core.store) };
  }

  /** Creates an account on the server and logs in. */
  async signup(email: string, password: string): Promise<void> {
    await this.#client().signup(email, password);
    await this.login(email, password);
  }

  /** Logs in; the session goes into the local vault. */
  async login(email: string, password: string): Promise<void> {
    const client = this.#client();
    const session = await client.login(email, password);
    await saveSession(this.#core.store, session);
    const previous = await this.state();
    await this.#saveState({
      server: client.server,
      email,
      userId: session.userId,
      workspaceId: previous?.userId === session.userId ? previous.workspaceId : null,
      versions: previous?.userId === session.userId ? previous.versions : {},
      lastSync: previous?.userId === session.userId ? previous.lastSync : null,
      pins: previous?.userId === session.userId ? previous.pins : {},
      policies: previous?.userId === session.userId ? previous.policies : {},
    });
  }

  /** Revokes the session on the server and forgets it here. Local secrets stay. */
  async logout(): Promise<void> {
    const { client, session, state } = await this.#session();
    await client.logout(session).catch(() => undefined);
    await this.#core.store.delete(SESSION_NS, SESSION_KEY);
    await this.#saveState({ ...state, workspaceId: null });
  }

  async workspaces(): Promise<SyncWorkspace[]> {
    const { client, session } = await this.#session();
    const list = await client.listWorkspaces(session);
    await saveSession(this.#core.store, session);
    return list;
  }

  async createWorkspace(name: string): Promise<SyncWorkspace> {
    const { client, session, state } = await this.#session();
    const ws = await client.createWorkspace(session, name);
    await saveSession(this.#core.store, session);
    const own = Buffer.from(session.userKeys.signing.publicKey).toString('base64');
    await this.#saveState({ ...state, workspaceId: ws.id, pins: { ...state.pins, [ws.id]: [own] } });
    return ws;
  }

  async switchWorkspace(name: string): Promise<SyncWorkspace> {
    const state = await this.state();
    if (state === undefined) throw notLoggedIn();
    const ws = (await this.workspaces()).find((w) => w.name === name || w.id === name);
    if (ws === undefined) {
      throw new AgentSecretsError(
        'PROJECT_NOT_FOUND',
        `no workspace named ${name.slice(0, 64)} on the server`,
        {
          hint: 'see `agentsecrets workspace list`',
        },
      );
    }
    // Trust on first sight: the admins listed now are the keys team policy must be signed with from here on.
    const { client, session } = await this.#session();
    const pinned = state.pins[ws.id] ?? (await client.adminSigningKeys(session, ws.id));
    await this.#saveState({ ...state, workspaceId: ws.id, pins: { ...state.pins, [ws.id]: pinned } });
    return ws;
  }

  #policyCache: { stamp: string; checkedAt: number; policy: TeamPolicy } | undefined;

  /**
   * The verified team policy of the selected workspace, for the engine. Re-read when sync.json changes (looked at
   * most every 200 ms); a stored policy that no longer verifies against the pinned admin keys is refused.
   */
  async policy(): Promise<TeamPolicy> {
    const now = performance.now();
    if (this.#policyCache !== undefined && now - this.#policyCache.checkedAt < 200)
      return this.#policyCache.policy;
    const s = await stat(syncPath(this.#core.paths)).catch(() => undefined);
    const stamp = s === undefined ? 'none' : `${s.mtimeMs}:${s.size}`;
    if (this.#policyCache?.stamp === stamp) {
      this.#policyCache.checkedAt = now;
      return this.#policyCache.policy;
    }
    let policy = NO_POLICY;
    const state = s === undefined ? undefined : await this.state();
    const stored = state?.workspaceId
      ? (state.policies[state.workspaceId] as SignedPolicy | undefined)
      : undefined;
    if (state?.workspaceId && stored !== undefined) {
      const verified = verifyPolicy(stored, {
        workspaceId: state.workspaceId,
        adminSigningKeys: state.pins[state.workspaceId] ?? [],
        minSerial: 0,
      });
      policy = {
        allowlist: verified.allowlist.map((e) => parseAllowlistEntry(e)),
        bindings: new Map(
          Object.entries(verified.bindings).map(([k, list]) => [
            k,
            list.map((b) => parseBinding(b.destination, b.methods)),
          ]),
        ),
      };
    }
    this.#policyCache = { stamp, checkedAt: now, policy };
    return policy;
  }

  /** Fetches the team policy and keeps it if it verifies against the pinned admin keys and is not older. */
  async #syncPolicy(
    client: SyncClient,
    session: SyncSession,
    state: SyncState,
    workspaceId: string,
  ): Promise<SyncState> {
    const remote = await client.getPolicy(session, workspaceId);
    if (remote === null) return state;
    const seen = (state.policies[workspaceId] as SignedPolicy | undefined)?.serial ?? 0;
    const verified = verifyPolicy(remote, {
      workspaceId,
      adminSigningKeys: state.pins[workspaceId] ?? [],
      minSerial: seen,
    });
    return { ...state, policies: { ...state.policies, [workspaceId]: verified } };
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
    const { client, state } = await this.#session();
    if (state.workspaceId === null)
      throw new AgentSecretsError('PROJECT_NOT_FOUND', 'no sync workspace is selected', {
        hint: 'run `agentsecrets workspace switch NAME`',
      });
    const fresh = await client.login(state.email, password);
    const current = await client.getPolicy(fresh, state.workspaceId);
    const base =
      current === null
        ? undefined
        : verifyPolicy(current, {
            workspaceId: state.workspaceId,
            adminSigningKeys: state.pins[state.workspaceId] ?? [],
            minSerial: 0,
          });
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
        workspaceId: state.workspaceId,
        serial: (base?.serial ?? 0) + 1,
        allowlist: draft.allowlist,
        bindings: draft.bindings,
      },
      fresh.userKeys.signing,
    );
    await client.putPolicy(fresh, signed);
    await client.logout(fresh).catch(() => undefined);
    await this.#saveState({ ...state, policies: { ...state.policies, [state.workspaceId]: signed } });
    return signed;
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

  /** The verified team allowlist entries (canonical text), for display. */
  async allowlistEntries(): Promise<string[]> {
    const state = await this.state();
    const stored = state?.workspaceId
      ? (state.policies[state.workspaceId] as SignedPolicy | undefined)
      : undefined;
    if (state?.workspaceId == null || stored === undefined) return [];
    return [
      ...verifyPolicy(stored, {
        workspaceId: state.workspaceId,
        adminSigningKeys: state.pins[state.workspaceId] ?? [],
        minSerial: 0,
      }).allowlist,
    ];
  }

  async #location(): Promise<{
    state: SyncState;
    client: SyncClient;
    session: SyncSession;
    at: SyncLocation;
  }> {
    const { state, client, session } = await this.#session();
    if (state.workspaceId === null) {
      throw new AgentSecretsError('PROJECT_NOT_FOUND', 'no sync workspace is selected', {
        hint: 'run `agentsecrets workspace create NAME` or `agentsecrets workspace switch NAME`',
      });
    }
    let ws = (await client.listWorkspaces(session)).find((w) => w.id === state.workspaceId);
    if (ws === undefined) {
      throw new AgentSecretsError('PROJECT_NOT_FOUND', 'the selected workspace is gone', {
        hint: 'switch to another',
      });
    }
    // After a removal the next admin client to sync rotates the key before anything else is read or written.
    if (ws.rotationPending && ws.role === 'admin') ws = await client.rotate(session, ws);
    // Projects are matched by name inside a team workspace: each machine has its own local ids.
    return {
      state,
      client,
      session,
      at: { workspace: ws, projectId: this.#core.project.name, environment: ENVIRONMENT },
    };
  }

  #versionKey(at: SyncLocation, name: string): string {
    return `${at.workspace.id}/${at.projectId}/${at.environment}/${name}`;
  }

  async #compare() {
    const loc = await this.#location();
    const minVersions: Record<string, number> = {};
    for (const [k, v] of Object.entries(loc.state.versions)) {
      const prefix = `${loc.at.workspace.id}/${loc.at.projectId}/${loc.at.environment}/`;
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

  /** Local-only, remote-only and changed secrets, by name. */
  async diff(): Promise<SyncDiff> {
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
  }

  /**
   * Pushes local secrets that are new or changed, each as the version after the one this client last saw. A
   * secret someone else changed meanwhile is a conflict: nothing is overwritten, and it is reported by name.
   */
  async push(): Promise<{ pushed: string[]; conflicts: string[] }> {
    const { remote, local, session, client, at, state } = await this.#compare();
    const pushed: string[] = [];
    const conflicts: string[] = [];
    const versions = { ...state.versions };
    for (const [name, value] of local) {
      const r = remote.get(name);
      if (r?.value.equals(value)) {
        versions[this.#versionKey(at, name)] = r.version;
        continue;
      }
      const seen = versions[this.#versionKey(at, name)] ?? 0;
      if (r !== undefined && r.version !== seen) {
        conflicts.push(name);
        continue;
      }
      const result = await client.push(session, at, name, value, r?.version ?? 0);
      if ('conflict' in result) conflicts.push(name);
      else {
        pushed.push(name);
        versions[this.#versionKey(at, name)] = result.version;
      }
    }
    await saveSession(this.#core.store, session);
    await this.#saveState({ ...state, versions, lastSync: new Date().toISOString() });
    return { pushed, conflicts };
  }

  /** Writes the remote secrets into the local store (the local store keeps working offline). */
  async pull(): Promise<{ pulled: string[] }> {
    const { remote, local, session, at, state } = await this.#compare();
    const versions = { ...state.versions };
    const pulled: string[] = [];
    for (const [name, r] of remote) {
      if (!local.get(name)?.equals(r.value)) {
        await this.#core.setSecret(name, r.value);
        pulled.push(name);
      }
      versions[this.#versionKey(at, name)] = r.version;
    }
    await saveSession(this.#core.store, session);
    const withPolicy = await this.#syncPolicy(this.#client(state), session, state, at.workspace.id);
    await this.#saveState({ ...withPolicy, versions, lastSync: new Date().toISOString() });
    return { pulled };
  }

  async #current(): Promise<{ client: SyncClient; session: SyncSession; workspace: SyncWorkspace }> {
    const { client, session, at } = await this.#location();
    return { client, session, workspace: at.workspace };
  }

  /** Accepts pending invites (publishing our public keys) and returns our fingerprint to read out to the admin. */
  async acceptInvites(): Promise<{ workspaceName: string; fingerprint: string }[]> {
    const { client, session } = await this.#session();
    const out = await client.acceptInvites(session);
    await saveSession(this.#core.store, session);
    return out;
  }

  /**
   * Invites `email` to the current workspace; with the fingerprint they read out to you, admits them (seals the
   * workspace key to their key). Returns what happened and, once they accepted, the fingerprint the server shows.
   */
  async invite(
    email: string,
    fingerprint?: string,
  ): Promise<{ admitted: boolean; fingerprint: string | null }> {
    const { client, session, workspace } = await this.#current();
    const existing = (await client.invites(session, workspace.id)).find(
      (i) => i.email === email.toLowerCase(),
    );
    if (existing === undefined) await client.invite(session, workspace.id, email);
    if (fingerprint !== undefined) {
      await client.admit(session, workspace, email, fingerprint);
      return { admitted: true, fingerprint };
    }
    await saveSession(this.#core.store, session);
    return { admitted: false, fingerprint: existing?.fingerprint ?? null };
  }

  async members() {
    const { client, session, workspace } = await this.#current();
    return client.members(session, workspace.id);
  }

  async #member(email: string) {
    const { client, session, workspace } = await this.#current();
    const member = (await client.members(session, workspace.id)).find((m) => m.email === email.toLowerCase());
    if (member === undefined) {
      throw new AgentSecretsError(
        'PROJECT_NOT_FOUND',
        `${email.slice(0, 100)} is not a member of ${workspace.name}`,
        {
          hint: 'see `agentsecrets workspace members`',
        },
      );
    }
    return { client, session, workspace, member };
  }

  async setRole(email: string, role: 'admin' | 'member'): Promise<void> {
    const { client, session, workspace, member } = await this.#member(email);
    await client.setRole(session, workspace.id, member.userId, role);
  }

  async remove(email: string): Promise<void> {
    const { client, session, workspace, member } = await this.#member(email);
    await client.removeMember(session, workspace.id, member.userId);
  }
}
