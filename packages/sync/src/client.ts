import { DEFAULT_KDF_PARAMS, randomId } from '@agentsecrets/crypto';
import { AgentSecretsError, ERROR_CODES, type ErrorCode } from '@agentsecrets/errors';
import { z } from 'zod';
import { decryptSecret, encryptSecret, type SecretCoordinates, type SignedPolicy } from './envelopes.js';
import {
  createUserKeys,
  createWorkspaceKey,
  deriveAccountKeys,
  type KdfOffer,
  newKdfOffer,
  openUserKeys,
  openWorkspaceKey,
  type SealedUserKeys,
  sealUserKeys,
  sealWorkspaceKey,
  type UserKeys,
  userFingerprint,
} from './keys.js';
import {
  type KeyGrant,
  type RosterMember,
  type RosterPin,
  rosterMember,
  type SignedRoster,
  signGrant,
  signRoster,
  type VerifiedRoster,
  verifyGrant,
  verifyRosterChain,
} from './roster.js';
import {
  ID,
  InviteSchema,
  PushConflictSchema,
  RosterListSchema,
  SignedPolicySchema,
  StoredSecretSchema,
  WorkspaceEntrySchema,
  WorkspaceSecretSchema,
} from './wire.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** A logged-in user: tokens and the unlocked key pairs (kept by the caller in its vault, never in a plain file). */
export interface SyncSession {
  readonly userId: string;
  readonly email: string;
  accessToken: string;
  refreshToken: string;
  readonly userKeys: UserKeys;
}

/**
 * A workspace as the client sees it once verified: its key opened from a grant an admin signed, and our role as the
 * signed roster says (not as the server says).
 */
export interface SyncWorkspace {
  readonly id: string;
  readonly name: string;
  readonly role: 'admin' | 'member';
  /** The version of the key held (`key`). */
  readonly keyVersion: number;
  /** The signed roster asks for a newer key (a member was removed): nothing may be encrypted until it is rotated. */
  readonly rotationPending: boolean;
  readonly key: Buffer;
}

/** A workspace entry as the server lists it, before anything in it is verified. */
export type WorkspaceEntry = z.infer<typeof WorkspaceEntrySchema>;

/** An invite of a workspace as an admin sees it: the invitee's keys once they accepted (unverified). */
export interface Invite {
  readonly id: string;
  readonly email: string;
  readonly status: string;
  readonly userId: string | null;
  readonly boxPublicKey: string | null;
  readonly signingPublicKey: string | null;
  /** The fingerprint of the keys the server presents: compare it with what the invitee reads out. */
  readonly fingerprint: string | null;
}

/** A verified workspace, its verified roster, and whether the server claimed a rotation the roster does not ask for. */
export interface OpenedWorkspace {
  readonly workspace: SyncWorkspace;
  readonly roster: VerifiedRoster;
  readonly serverClaimsRotation: boolean;
}

/** A remote secret, decrypted. */
export interface PulledSecret {
  readonly name: string;
  readonly version: number;
  readonly value: Buffer;
}

/** Where a project's secrets live on the server. */
export interface SyncLocation {
  readonly workspace: SyncWorkspace;
  readonly projectId: string;
  readonly environment: string;
}

interface ErrorBody {
  error?: { code?: string; message?: string };
  current?: number;
}

/**
 * The zero-knowledge sync client: everything sent is ciphertext, a public key or an authentication key derived from
 * the password (never the password); everything received is checked before it is trusted.
 */
export class SyncClient {
  readonly server: string;

  constructor(server: string) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new AgentSecretsError('CONFIG_INVALID', 'AGENTSECRETS_SERVER is not a URL', {
        hint: 'set it to the sync server, e.g. https://sync.example.com',
      });
    }
    this.server = url.origin;
  }

  async #request<T>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T & ErrorBody }> {
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new AgentSecretsError('UPSTREAM_UNREACHABLE', `the sync server ${this.server} did not answer`, {
        hint: 'check AGENTSECRETS_SERVER and that the server is running',
        cause: e,
      });
    }
    const text = await res.text();
    let parsed: T & ErrorBody;
    try {
      parsed = (text === '' ? {} : JSON.parse(text)) as T & ErrorBody;
    } catch (e) {
      throw new AgentSecretsError(
        'UPSTREAM_RESET',
        `the sync server answered ${method} ${path.split('/')[2] ?? ''} with something that is not JSON`,
        {
          hint: 'check AGENTSECRETS_SERVER points at an AgentSecrets sync server',
          cause: e,
        },
      );
    }
    return { status: res.status, body: parsed };
  }

  #fail(status: number, body: ErrorBody): never {
    const code = body.error?.code ?? 'INTERNAL_ERROR';
    const byStatus: Partial<Record<number, ErrorCode>> = {
      401: 'UNAUTHORIZED',
      403: 'REQUEST_REFUSED',
      404: 'PROJECT_NOT_FOUND',
      409: 'INVALID_ARGUMENT',
      429: 'REQUEST_REFUSED',
    };
    const known: ErrorCode = Object.hasOwn(ERROR_CODES, code)
      ? (code as ErrorCode)
      : (byStatus[status] ?? 'UPSTREAM_RESET');
    throw new AgentSecretsError(
      known,
      `the sync server refused: ${(body.error?.message ?? `HTTP ${status}`).slice(0, 200)}`,
      {
        hint: status === 401 ? 'run `agentsecrets login` again' : 'see the server logs',
      },
    );
  }

  /** Creates an account. The server answers the same whether or not the email was taken; log in to find out. */
  async signup(email: string, password: string): Promise<void> {
    const offer = newKdfOffer(DEFAULT_KDF_PARAMS);
    const account = await deriveAccountKeys(password, offer);
    const userId = randomId('usr');
    const keys: SealedUserKeys = sealUserKeys(await createUserKeys(), account.encKey, userId);
    const res = await this.#request('POST', '/v1/auth/signup', {
      userId,
      email,
      authKey: account.authKey.toString('base64'),
      kdf: offer,
      keys,
    });
    if (res.status !== 202) this.#fail(res.status, res.body);
  }

  /** Logs in: derives the keys locally (refusing weak server parameters), proves them, opens the user's key pairs. */
  async login(email: string, password: string): Promise<SyncSession> {
    const pre = await this.#request<KdfOffer>('POST', '/v1/auth/prelogin', { email });
    if (pre.status !== 200) this.#fail(pre.status, pre.body);
    const account = await deriveAccountKeys(password, pre.body);
    const res = await this.#request<{
      userId: string;
      accessToken: string;
      refreshToken: string;
      keys: SealedUserKeys;
    }>('POST', '/v1/auth/login', { email, authKey: account.authKey.toString('base64') });
    if (res.status !== 200) {
      if (res.status === 401) {
        throw new AgentSecretsError('UNAUTHORIZED', 'wrong email or password', {
          hint: 'check both and try again',
        });
      }
      this.#fail(res.status, res.body);
    }
    const userKeys = openUserKeys(res.body.keys, account.encKey, res.body.userId);
    account.encKey.fill(0);
    return {
      userId: res.body.userId,
      email,
      accessToken: res.body.accessToken,
      refreshToken: res.body.refreshToken,
      userKeys,
    };
  }

  /** Revokes the session's refresh tokens on the server. */
  async logout(session: SyncSession): Promise<void> {
    await this.#request('POST', '/v1/auth/logout', { refreshToken: session.refreshToken });
  }

  /** An authenticated call that refreshes the access token once when it has expired. */
  async #authed<T>(session: SyncSession, method: string, path: string, body?: unknown) {
    let res = await this.#request<T>(method, path, body, session.accessToken);
    if (res.status === 401) {
      const refreshed = await this.#request<{ accessToken: string; refreshToken: string }>(
        'POST',
        '/v1/auth/refresh',
        {
          refreshToken: session.refreshToken,
        },
      );
      if (refreshed.status !== 200) this.#fail(401, refreshed.body);
      session.accessToken = refreshed.body.accessToken;
      session.refreshToken = refreshed.body.refreshToken;
      res = await this.#request<T>(method, path, body, session.accessToken);
    }
    return res;
  }

  /** Our user id and public keys, as they appear in a roster. */
  #me(session: SyncSession): RosterMember {
    return {
      userId: session.userId,
      email: session.email.toLowerCase(),
      role: 'admin',
      boxPublicKey: b64(session.userKeys.box.publicKey),
      signingPublicKey: b64(session.userKeys.signing.publicKey),
    };
  }

  /** Checks an answer against its wire schema: a malformed answer is refused before anything in it is used. */
  #parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const where = parsed.error.issues[0]?.path.join('.') || '(top level)';
      throw new AgentSecretsError(
        'UPSTREAM_RESET',
        `the sync server's answer to ${what} is malformed (${where})`,
        {
          hint: 'the server may be misconfigured or malicious; nothing in the answer was used',
        },
      );
    }
    return parsed.data;
  }

  /**
   * Creates a workspace: its key is made here and granted to ourselves, under a first roster that lists us as its
   * admin, both signed with our key. The server never sees the key.
   */
  async createWorkspace(session: SyncSession, name: string): Promise<OpenedWorkspace> {
    const id = randomId('ws');
    const key = createWorkspaceKey();
    const me = this.#me(session);
    const roster = signRoster(
      { workspaceId: id, serial: 1, prev: null, keyVersion: 1, members: [me] },
      session.userKeys.signing,
    );
    const sealedKey = await sealWorkspaceKey(key, me.boxPublicKey, { workspaceId: id, keyVersion: 1 });
    const grant = signGrant(
      { workspaceId: id, keyVersion: 1, rosterSerial: 1, recipient: me.userId, sealedKey },
      me,
      session.userKeys.signing,
    );
    const res = await this.#authed(session, 'POST', '/v1/workspaces', { id, name, roster, grant });
    if (res.status !== 201) this.#fail(res.status, res.body);
    return {
      workspace: { id, name, role: 'admin', keyVersion: 1, rotationPending: false, key },
      roster: verifyRosterChain([roster], { workspaceId: id }),
      serverClaimsRotation: false,
    };
  }

  /** The workspaces we belong to, as the server lists them: nothing in these entries is trusted yet. */
  async listWorkspaces(session: SyncSession): Promise<WorkspaceEntry[]> {
    const res = await this.#authed(session, 'GET', '/v1/workspaces');
    if (res.status !== 200) this.#fail(res.status, res.body);
    return this.#parse(z.array(WorkspaceEntrySchema).max(10_000), res.body, 'the workspace list');
  }

  /** Every version of a workspace's roster, oldest first (unverified). */
  async rosterChain(session: SyncSession, workspaceId: string): Promise<SignedRoster[]> {
    const res = await this.#authed(
      session,
      'GET',
      `/v1/workspaces/${encodeURIComponent(workspaceId)}/roster`,
    );
    if (res.status !== 200) this.#fail(res.status, res.body);
    return this.#parse(RosterListSchema, res.body, 'the roster').rosters;
  }

  /**
   * Opens a workspace: verifies its roster chain (against `pin`, or trusting its first version on first use), then
   * accepts our key grant only if an admin of that roster signed it for us, this workspace and a key version the
   * roster names. A workspace made before signed rosters is refused with what to do.
   */
  async openWorkspace(
    session: SyncSession,
    entry: WorkspaceEntry,
    pin: RosterPin | undefined,
  ): Promise<OpenedWorkspace> {
    if (entry.grant === null) {
      throw new AgentSecretsError(
        'ROSTER_INVALID',
        `workspace ${entry.name} was created before signed rosters and key grants; its key cannot be verified`,
        {
          hint: `an admin runs \`agentsecrets workspace upgrade ${entry.name}\` (it rotates the key) and admits the members again with their fingerprints`,
        },
      );
    }
    const roster = verifyRosterChain(await this.rosterChain(session, entry.id), {
      workspaceId: entry.id,
      pin,
    });
    const me = this.#me(session);
    const member = rosterMember(roster.latest, me);
    if (member === undefined) {
      throw new AgentSecretsError('ROSTER_INVALID', `the roster of ${entry.name} does not list your key`, {
        hint: 'an admin admits you with the fingerprint `agentsecrets workspace list` shows you',
      });
    }
    const grant = verifyGrant(entry.grant, roster, me);
    let key: Buffer;
    try {
      key = await openWorkspaceKey(grant.sealedKey, session.userKeys.box, {
        workspaceId: entry.id,
        keyVersion: grant.keyVersion,
      });
    } catch (e) {
      throw new AgentSecretsError(
        'KEY_GRANT_INVALID',
        `the workspace key granted for ${entry.name} does not open`,
        {
          hint: 'the grant is signed but its sealed key is not for you; tell your admins',
          cause: e,
        },
      );
    }
    const rotationPending = roster.latest.keyVersion > grant.keyVersion;
    return {
      workspace: {
        id: entry.id,
        name: entry.name,
        role: member.role,
        keyVersion: grant.keyVersion,
        rotationPending,
        key,
      },
      roster,
      serverClaimsRotation: entry.rotationPending && !rotationPending,
    };
  }

  #coords(at: SyncLocation, name: string, version: number): SecretCoordinates {
    return {
      workspaceId: at.workspace.id,
      projectId: at.projectId,
      environment: at.environment,
      name,
      version,
      keyVersion: at.workspace.keyVersion,
    };
  }

  #base(at: SyncLocation): string {
    return `/v1/workspaces/${encodeURIComponent(at.workspace.id)}/secrets/${encodeURIComponent(at.projectId)}/${encodeURIComponent(at.environment)}`;
  }

  /**
   * Pushes values, each as the version after its `baseVersion`, in one request the server applies all or nothing.
   * If any base is stale (someone pushed first) nothing is written and the stale names come back as conflicts.
   * Refused while the workspace key is due for rotation: nothing is encrypted under a key a removed member had.
   */
  async push(
    session: SyncSession,
    at: SyncLocation,
    items: readonly { name: string; value: Uint8Array; baseVersion: number }[],
  ): Promise<
    { pushed: { name: string; version: number }[] } | { conflicts: { name: string; current: number }[] }
  > {
    if (at.workspace.rotationPending) {
      throw new AgentSecretsError(
        'REQUEST_REFUSED',
        `the key of workspace ${at.workspace.name} is due for rotation (a member was removed)`,
        { hint: 'nothing was pushed; an admin of the workspace syncs first (any team command rotates it)' },
      );
    }
    if (items.length === 0) return { pushed: [] };
    const secrets = items.map((i) => ({
      name: i.name,
      version: i.baseVersion + 1,
      ciphertext: encryptSecret(at.workspace.key, i.value, this.#coords(at, i.name, i.baseVersion + 1)),
    }));
    const res = await this.#authed(session, 'POST', this.#base(at), {
      keyVersion: at.workspace.keyVersion,
      secrets,
    });
    if (res.status === 409) return this.#parse(PushConflictSchema, res.body, 'the push');
    if (res.status !== 201) this.#fail(res.status, res.body);
    return { pushed: secrets.map((s) => ({ name: s.name, version: s.version })) };
  }

  /**
   * The latest version of each secret, decrypted. A ciphertext that does not open at the coordinates the server
   * claims (swapped, moved, replayed) fails the pull with DECRYPT_FAILED; `minVersions` (what this client saw before)
   * refuses a server that rolls a secret back.
   */
  async pull(
    session: SyncSession,
    at: SyncLocation,
    minVersions: Readonly<Record<string, number>> = {},
  ): Promise<PulledSecret[]> {
    const res = await this.#authed(session, 'GET', this.#base(at));
    if (res.status !== 200) this.#fail(res.status, res.body);
    const list = this.#parse(z.array(StoredSecretSchema).max(100_000), res.body, 'the secret list');
    return list.map((s) => {
      if (s.version < (minVersions[s.name] ?? 0)) {
        throw new AgentSecretsError(
          'DECRYPT_FAILED',
          `the server offered ${s.name} at version ${s.version}, older than ${minVersions[s.name]}`,
          {
            hint: 'the server rolled a secret back; refusing it',
          },
        );
      }
      return {
        name: s.name,
        version: s.version,
        value: decryptSecret(at.workspace.key, s.ciphertext, {
          ...this.#coords(at, s.name, s.version),
          keyVersion: s.keyVersion,
        }),
      };
    });
  }

  /** Invites an email to a workspace (admin). The answer does not say whether the email has an account. */
  async invite(session: SyncSession, workspaceId: string, email: string): Promise<void> {
    const res = await this.#authed(
      session,
      'POST',
      `/v1/workspaces/${encodeURIComponent(workspaceId)}/invites`,
      { email },
    );
    if (res.status !== 202) this.#fail(res.status, res.body);
  }

  /**
   * Accepts the invites waiting for us, which publishes our public keys to the inviting admins. Returns them with
   * our own fingerprint, to read out to the admin.
   */
  async acceptInvites(session: SyncSession): Promise<{ workspaceName: string; fingerprint: string }[]> {
    const res = await this.#authed(session, 'GET', '/v1/invites');
    if (res.status !== 200) this.#fail(res.status, res.body);
    const invites = this.#parse(
      z
        .array(z.object({ id: ID, workspaceName: z.string().max(64), status: z.string().max(16) }))
        .max(10_000),
      res.body,
      'your invites',
    );
    const mine = userFingerprint(
      Buffer.from(session.userKeys.box.publicKey).toString('base64'),
      Buffer.from(session.userKeys.signing.publicKey).toString('base64'),
    );
    const out: { workspaceName: string; fingerprint: string }[] = [];
    for (const invite of invites) {
      if (invite.status === 'pending') {
        const accepted = await this.#authed(
          session,
          'POST',
          `/v1/invites/${encodeURIComponent(invite.id)}/accept`,
          {},
        );
        if (accepted.status !== 204) this.#fail(accepted.status, accepted.body);
      }
      out.push({ workspaceName: invite.workspaceName, fingerprint: mine });
    }
    return out;
  }

  /** Invites of a workspace (admin), with the invitee's keys and fingerprint once they have accepted. */
  async invites(session: SyncSession, workspaceId: string): Promise<Invite[]> {
    const res = await this.#authed(
      session,
      'GET',
      `/v1/workspaces/${encodeURIComponent(workspaceId)}/invites`,
    );
    if (res.status !== 200) this.#fail(res.status, res.body);
    const list = this.#parse(z.array(InviteSchema).max(10_000), res.body, 'the invites');
    return list.map((i) => ({
      id: i.id,
      email: i.email,
      status: i.status,
      userId: i.userId,
      boxPublicKey: i.boxPublicKey,
      signingPublicKey: i.signingPublicKey,
      fingerprint:
        i.boxPublicKey !== null && i.signingPublicKey !== null
          ? userFingerprint(i.boxPublicKey, i.signingPublicKey)
          : null,
    }));
  }

  /** Stores the next roster version (admin) with grants for the members it admits; returns the verified chain. */
  async #putRoster(
    session: SyncSession,
    current: VerifiedRoster,
    next: Omit<SignedRoster, 'signer' | 'signature' | 'workspaceId' | 'serial' | 'prev'>,
    grants: (roster: SignedRoster) => Promise<KeyGrant[]>,
  ): Promise<VerifiedRoster> {
    const latest = current.latest;
    const roster = signRoster(
      { ...next, workspaceId: latest.workspaceId, serial: latest.serial + 1, prev: current.pin.hash },
      session.userKeys.signing,
    );
    // Checked here as every member will check it: an admin never stores a roster the others would refuse.
    const verified = verifyRosterChain([...current.chain, roster], {
      workspaceId: latest.workspaceId,
      pin: current.pin,
    });
    const res = await this.#authed(
      session,
      'PUT',
      `/v1/workspaces/${encodeURIComponent(latest.workspaceId)}/roster`,
      { roster, grants: await grants(roster) },
    );
    if (res.status !== 204) this.#fail(res.status, res.body);
    return verified;
  }

  /**
   * Admits an invitee whose fingerprint the admin checked out of band: signs the next roster version with their
   * exact keys and grants them the workspace key. A fingerprint that does not match what the server presents is
   * refused before anything is signed.
   */
  async admit(
    session: SyncSession,
    opened: OpenedWorkspace,
    email: string,
    expectedFingerprint: string,
  ): Promise<VerifiedRoster> {
    const { workspace, roster } = opened;
    const invite = (await this.invites(session, workspace.id)).find((i) => i.email === email.toLowerCase());
    if (
      invite === undefined ||
      invite.status !== 'accepted' ||
      invite.userId === null ||
      invite.boxPublicKey === null ||
      invite.signingPublicKey === null
    ) {
      throw new AgentSecretsError(
        'PROJECT_NOT_FOUND',
        `${email} has not accepted an invite to ${workspace.name} yet`,
        {
          hint: 'they log in and run `agentsecrets workspace list`, then tell you their fingerprint',
        },
      );
    }
    const normalize = (f: string) => f.replace(/\s+/g, '').toLowerCase();
    if (invite.fingerprint === null || normalize(invite.fingerprint) !== normalize(expectedFingerprint)) {
      throw new AgentSecretsError(
        'SIGNATURE_INVALID',
        `the key the server presents for ${email} does not have that fingerprint`,
        {
          hint: 'do not admit them; check the fingerprint with them again, out of band',
        },
      );
    }
    const member: RosterMember = {
      userId: invite.userId,
      email: invite.email,
      role: 'member',
      boxPublicKey: invite.boxPublicKey,
      signingPublicKey: invite.signingPublicKey,
    };
    const members = [...roster.latest.members.filter((m) => m.userId !== member.userId), member];
    return this.#putRoster(
      session,
      roster,
      { keyVersion: roster.latest.keyVersion, members },
      async (next) => [
        signGrant(
          {
            workspaceId: workspace.id,
            keyVersion: workspace.keyVersion,
            rosterSerial: next.serial,
            recipient: member.userId,
            sealedKey: await sealWorkspaceKey(workspace.key, member.boxPublicKey, {
              workspaceId: workspace.id,
              keyVersion: workspace.keyVersion,
            }),
          },
          member,
          session.userKeys.signing,
        ),
      ],
    );
  }

  /**
   * Changes roles or removes members (admin) in the next roster version. A removal raises the key version: the
   * signed request for a rotation, which the caller then performs with {@link rotate}. A workspace keeps an admin.
   */
  async changeMembers(
    session: SyncSession,
    opened: OpenedWorkspace,
    change: { readonly remove?: string; readonly setRole?: { userId: string; role: 'admin' | 'member' } },
  ): Promise<VerifiedRoster> {
    const latest = opened.roster.latest;
    let members = latest.members.map((m) =>
      change.setRole?.userId === m.userId ? { ...m, role: change.setRole.role } : m,
    );
    if (change.remove !== undefined) members = members.filter((m) => m.userId !== change.remove);
    if (!members.some((m) => m.role === 'admin')) {
      throw new AgentSecretsError('INVALID_ARGUMENT', 'a workspace keeps at least one admin', {
        hint: 'promote someone else first',
      });
    }
    const keyVersion = change.remove === undefined ? latest.keyVersion : latest.keyVersion + 1;
    return this.#putRoster(session, opened.roster, { keyVersion, members }, async () => []);
  }

  /**
   * Rotates the workspace key (admin) to the version the newest roster asks for: a new key made here, granted to
   * exactly the members of that roster (never to a list the server hands out), and every secret re-encrypted under
   * it as its next version — in one request the server applies all or nothing.
   */
  async rotate(session: SyncSession, opened: OpenedWorkspace): Promise<OpenedWorkspace> {
    const { workspace, roster } = opened;
    const latest = roster.latest;
    if (latest.keyVersion <= workspace.keyVersion) return opened;
    const path = `/v1/workspaces/${encodeURIComponent(workspace.id)}`;
    const res = await this.#authed(session, 'GET', `${path}/secrets`);
    if (res.status !== 200) this.#fail(res.status, res.body);
    const stored = this.#parse(z.array(WorkspaceSecretSchema).max(100_000), res.body, 'the secret list');
    const keyVersion = latest.keyVersion;
    const key = createWorkspaceKey();
    const grants: KeyGrant[] = [];
    for (const m of latest.members) {
      const sealedKey = await sealWorkspaceKey(key, m.boxPublicKey, {
        workspaceId: workspace.id,
        keyVersion,
      });
      grants.push(
        signGrant(
          {
            workspaceId: workspace.id,
            keyVersion,
            rosterSerial: latest.serial,
            recipient: m.userId,
            sealedKey,
          },
          m,
          session.userKeys.signing,
        ),
      );
    }
    const secrets = stored.map((s) => {
      const at = { workspace, projectId: s.projectId, environment: s.environment };
      const value = decryptSecret(workspace.key, s.ciphertext, {
        ...this.#coords(at, s.name, s.version),
        keyVersion: s.keyVersion,
      });
      try {
        return {
          projectId: s.projectId,
          environment: s.environment,
          name: s.name,
          version: s.version + 1,
          ciphertext: encryptSecret(key, value, {
            ...this.#coords(at, s.name, s.version + 1),
            keyVersion,
          }),
        };
      } finally {
        value.fill(0);
      }
    });
    const done = await this.#authed(session, 'POST', `${path}/rotate`, { keyVersion, grants, secrets });
    if (done.status !== 204) this.#fail(done.status, done.body);
    return { ...opened, workspace: { ...workspace, key, keyVersion, rotationPending: false } };
  }

  /**
   * Brings a workspace made before signed rosters under them (admin): a first roster listing only us, at a new key
   * version, then a rotation granting the new key to us alone. The old key (unverifiable) is used only to read the
   * stored secrets for re-encryption. Other members are admitted again with their fingerprints afterwards.
   */
  async upgrade(session: SyncSession, entry: WorkspaceEntry): Promise<OpenedWorkspace> {
    if (entry.grant !== null || entry.sealedKey === undefined) {
      throw new AgentSecretsError('INVALID_ARGUMENT', `workspace ${entry.name} already has a signed roster`, {
        hint: 'nothing to upgrade',
      });
    }
    const oldKey = await openWorkspaceKey(entry.sealedKey, session.userKeys.box, {
      workspaceId: entry.id,
      keyVersion: entry.keyVersion,
    });
    const me = this.#me(session);
    const genesis = signRoster(
      { workspaceId: entry.id, serial: 1, prev: null, keyVersion: entry.keyVersion + 1, members: [me] },
      session.userKeys.signing,
    );
    const res = await this.#authed(session, 'PUT', `/v1/workspaces/${encodeURIComponent(entry.id)}/roster`, {
      roster: genesis,
      grants: [],
    });
    if (res.status !== 204) this.#fail(res.status, res.body);
    return this.rotate(session, {
      workspace: {
        id: entry.id,
        name: entry.name,
        role: 'admin',
        keyVersion: entry.keyVersion,
        rotationPending: true,
        key: oldKey,
      },
      roster: verifyRosterChain([genesis], { workspaceId: entry.id }),
      serverClaimsRotation: false,
    });
  }

  /** The workspace's stored team policy (unverified: check it with `verifyPolicy` against the roster's admins). */
  async getPolicy(session: SyncSession, workspaceId: string): Promise<SignedPolicy | null> {
    const res = await this.#authed(
      session,
      'GET',
      `/v1/workspaces/${encodeURIComponent(workspaceId)}/policy`,
    );
    if (res.status !== 200) this.#fail(res.status, res.body);
    return this.#parse(z.object({ policy: SignedPolicySchema.nullable() }), res.body, 'the team policy')
      .policy as SignedPolicy | null;
  }

  /** Stores a signed team policy (admin); its serial must be above the stored one. */
  async putPolicy(session: SyncSession, policy: SignedPolicy): Promise<void> {
    const res = await this.#authed(
      session,
      'PUT',
      `/v1/workspaces/${encodeURIComponent(policy.workspaceId)}/policy`,
      { policy },
    );
    if (res.status !== 204) this.#fail(res.status, res.body);
  }
}
