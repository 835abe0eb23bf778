import { DEFAULT_KDF_PARAMS, randomId } from '@agentsecrets/crypto';
import { AgentSecretsError, ERROR_CODES, type ErrorCode } from '@agentsecrets/errors';
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

/** A logged-in user: tokens and the unlocked key pairs (kept by the caller in its vault, never in a plain file). */
export interface SyncSession {
  readonly userId: string;
  readonly email: string;
  accessToken: string;
  refreshToken: string;
  readonly userKeys: UserKeys;
}

/** A workspace as the client sees it: its key opened with the user's private key. */
export interface SyncWorkspace {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly keyVersion: number;
  readonly rotationPending: boolean;
  readonly key: Buffer;
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
    const parsed = (text === '' ? {} : JSON.parse(text)) as T & ErrorBody;
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

  /** Creates a workspace: its key is made here and sealed to ourselves; the server never sees it. */
  async createWorkspace(session: SyncSession, name: string): Promise<SyncWorkspace> {
    const id = randomId('ws');
    const key = createWorkspaceKey();
    const pub = Buffer.from(session.userKeys.box.publicKey).toString('base64');
    const sealedKey = await sealWorkspaceKey(key, pub, { workspaceId: id, keyVersion: 1 });
    const res = await this.#authed(session, 'POST', '/v1/workspaces', { id, name, sealedKey });
    if (res.status !== 201) this.#fail(res.status, res.body);
    return { id, name, role: 'admin', keyVersion: 1, rotationPending: false, key };
  }

  /** The workspaces we belong to, with their keys opened (each checked to be for that workspace and version). */
  async listWorkspaces(session: SyncSession): Promise<SyncWorkspace[]> {
    const res = await this.#authed<
      {
        id: string;
        name: string;
        role: string;
        sealedKey: string;
        keyVersion: number;
        rotationPending: boolean;
      }[]
    >(session, 'GET', '/v1/workspaces');
    if (res.status !== 200) this.#fail(res.status, res.body);
    const out: SyncWorkspace[] = [];
    for (const w of res.body) {
      const key = await openWorkspaceKey(w.sealedKey, session.userKeys.box, {
        workspaceId: w.id,
        keyVersion: w.keyVersion,
      });
      out.push({
        id: w.id,
        name: w.name,
        role: w.role,
        keyVersion: w.keyVersion,
        rotationPending: w.rotationPending,
        key,
      });
    }
    return out;
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
   * Pushes one value as the version after `baseVersion`. A stale base (someone pushed first) comes back as
   * `{ conflict: current }` and nothing is overwritten.
   */
  async push(
    session: SyncSession,
    at: SyncLocation,
    name: string,
    value: Uint8Array,
    baseVersion: number,
  ): Promise<{ version: number } | { conflict: number }> {
    const version = baseVersion + 1;
    const ciphertext = encryptSecret(at.workspace.key, value, this.#coords(at, name, version));
    const res = await this.#authed(session, 'PUT', `${this.#base(at)}/${encodeURIComponent(name)}`, {
      ciphertext,
      version,
      keyVersion: at.workspace.keyVersion,
    });
    if (res.status === 409) return { conflict: Number(res.body.current ?? 0) };
    if (res.status !== 201) this.#fail(res.status, res.body);
    return { version };
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
    const res = await this.#authed<
      { name: string; version: number; ciphertext: string; keyVersion: number }[]
    >(session, 'GET', this.#base(at));
    if (res.status !== 200) this.#fail(res.status, res.body);
    return res.body.map((s) => {
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
    const res = await this.#authed<{ id: string; workspaceName: string; status: string }[]>(
      session,
      'GET',
      '/v1/invites',
    );
    if (res.status !== 200) this.#fail(res.status, res.body);
    const mine = userFingerprint(
      Buffer.from(session.userKeys.box.publicKey).toString('base64'),
      Buffer.from(session.userKeys.signing.publicKey).toString('base64'),
    );
    const out: { workspaceName: string; fingerprint: string }[] = [];
    for (const invite of res.body) {
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

  /** Invites of a workspace (admin), with the invitee's fingerprint once they have accepted. */
  async invites(
    session: SyncSession,
    workspaceId: string,
  ): Promise<
    { id: string; email: string; status: string; fingerprint: string | null; boxPublicKey: string | null }[]
  > {
    const res = await this.#authed<
      {
        id: string;
        email: string;
        status: string;
        boxPublicKey: string | null;
        signingPublicKey: string | null;
      }[]
    >(session, 'GET', `/v1/workspaces/${encodeURIComponent(workspaceId)}/invites`);
    if (res.status !== 200) this.#fail(res.status, res.body);
    return res.body.map((i) => ({
      id: i.id,
      email: i.email,
      status: i.status,
      boxPublicKey: i.boxPublicKey,
      fingerprint:
        i.boxPublicKey !== null && i.signingPublicKey !== null
          ? userFingerprint(i.boxPublicKey, i.signingPublicKey)
          : null,
    }));
  }

  /**
   * Admits an invitee whose fingerprint the admin checked out of band: the workspace key is sealed to their key
   * here. A fingerprint that does not match what the server now presents is refused.
   */
  async admit(
    session: SyncSession,
    workspace: SyncWorkspace,
    email: string,
    expectedFingerprint: string,
  ): Promise<void> {
    const invite = (await this.invites(session, workspace.id)).find((i) => i.email === email.toLowerCase());
    if (invite === undefined || invite.status !== 'accepted' || invite.boxPublicKey === null) {
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
    const sealedKey = await sealWorkspaceKey(workspace.key, invite.boxPublicKey, {
      workspaceId: workspace.id,
      keyVersion: workspace.keyVersion,
    });
    const res = await this.#authed(
      session,
      'POST',
      `/v1/workspaces/${encodeURIComponent(workspace.id)}/members`,
      { inviteId: invite.id, sealedKey },
    );
    if (res.status !== 201) this.#fail(res.status, res.body);
  }

  /** Members of a workspace with their roles and fingerprints. */
  async members(
    session: SyncSession,
    workspaceId: string,
  ): Promise<{ userId: string; email: string; role: string; fingerprint: string }[]> {
    const res = await this.#authed<
      { userId: string; email: string; role: string; boxPublicKey: string; signingPublicKey: string }[]
    >(session, 'GET', `/v1/workspaces/${encodeURIComponent(workspaceId)}/members`);
    if (res.status !== 200) this.#fail(res.status, res.body);
    return res.body.map((m) => ({
      userId: m.userId,
      email: m.email,
      role: m.role,
      fingerprint: userFingerprint(m.boxPublicKey, m.signingPublicKey),
    }));
  }

  /** Promotes or demotes a member (admin). A workspace keeps at least one admin. */
  async setRole(
    session: SyncSession,
    workspaceId: string,
    userId: string,
    role: 'admin' | 'member',
  ): Promise<void> {
    const res = await this.#authed(
      session,
      'PUT',
      `/v1/workspaces/${encodeURIComponent(workspaceId)}/members/${encodeURIComponent(userId)}/role`,
      { role },
    );
    if (res.status !== 204) this.#fail(res.status, res.body);
  }

  /** Removes a member (admin); the workspace key is then marked for rotation. */
  async removeMember(session: SyncSession, workspaceId: string, userId: string): Promise<void> {
    const res = await this.#authed(
      session,
      'DELETE',
      `/v1/workspaces/${encodeURIComponent(workspaceId)}/members/${encodeURIComponent(userId)}`,
    );
    if (res.status !== 204) this.#fail(res.status, res.body);
  }

  /**
   * Rotates the workspace key (admin), as due after a member was removed: a new key made here, sealed to every
   * remaining member's key, and every secret re-encrypted under it as its next version — all in one request that
   * the server applies all or nothing. Returns the workspace with its new key.
   */
  async rotate(session: SyncSession, workspace: SyncWorkspace): Promise<SyncWorkspace> {
    const path = `/v1/workspaces/${encodeURIComponent(workspace.id)}`;
    const members = await this.#authed<{ userId: string; boxPublicKey: string }[]>(
      session,
      'GET',
      `${path}/members`,
    );
    if (members.status !== 200) this.#fail(members.status, members.body);
    const secrets = await this.#authed<
      {
        projectId: string;
        environment: string;
        name: string;
        version: number;
        ciphertext: string;
        keyVersion: number;
      }[]
    >(session, 'GET', `${path}/secrets`);
    if (secrets.status !== 200) this.#fail(secrets.status, secrets.body);
    const keyVersion = workspace.keyVersion + 1;
    const key = createWorkspaceKey();
    const sealedKeys = [];
    for (const m of members.body) {
      sealedKeys.push({
        userId: m.userId,
        sealedKey: await sealWorkspaceKey(key, m.boxPublicKey, { workspaceId: workspace.id, keyVersion }),
      });
    }
    const reencrypted = secrets.body.map((s) => {
      const at = { workspace, projectId: s.projectId, environment: s.environment };
      const value = decryptSecret(workspace.key, s.ciphertext, {
        ...this.#coords(at, s.name, s.version),
        keyVersion: s.keyVersion,
      });
      try {
        const next = { ...this.#coords(at, s.name, s.version + 1), keyVersion };
        return {
          projectId: s.projectId,
          environment: s.environment,
          name: s.name,
          version: s.version + 1,
          ciphertext: encryptSecret(key, value, next),
        };
      } finally {
        value.fill(0);
      }
    });
    const res = await this.#authed(session, 'POST', `${path}/rotate`, {
      keyVersion,
      sealedKeys,
      secrets: reencrypted,
    });
    if (res.status !== 204) this.#fail(res.status, res.body);
    return { ...workspace, key, keyVersion, rotationPending: false };
  }

  /** The workspace's stored team policy (unverified: check it with `verifyPolicy` against pinned admin keys). */
  async getPolicy(session: SyncSession, workspaceId: string): Promise<SignedPolicy | null> {
    const res = await this.#authed<{ policy: SignedPolicy | null }>(
      session,
      'GET',
      `/v1/workspaces/${encodeURIComponent(workspaceId)}/policy`,
    );
    if (res.status !== 200) this.#fail(res.status, res.body);
    return res.body.policy;
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

  /** The signing public keys of a workspace's admins, as the server lists them (pin them; do not trust blindly). */
  async adminSigningKeys(session: SyncSession, workspaceId: string): Promise<string[]> {
    const res = await this.#authed<{ role: string; signingPublicKey: string }[]>(
      session,
      'GET',
      `/v1/workspaces/${encodeURIComponent(workspaceId)}/members`,
    );
    if (res.status !== 200) this.#fail(res.status, res.body);
    return res.body.filter((m) => m.role === 'admin').map((m) => m.signingPublicKey);
  }
}
