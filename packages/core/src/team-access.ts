import type { AuditEventInput } from '@agentsecrets/audit';
import { AgentSecretsError, toAgentSecretsError } from '@agentsecrets/errors';
import type { SecretStore } from '@agentsecrets/keychain';
import {
  type OpenedWorkspace,
  SyncClient,
  type SyncLocation,
  type SyncSession,
  type WorkspaceEntry,
} from '@agentsecrets/sync';
import { type TeamTrust, teamTrust, type VaultRecord } from './anchor.js';
import { useEvent } from './audit-trail.js';
import { hasSession, loadSession, saveSession } from './team-session.js';
import { TeamRecords } from './team-state.js';

const ENVIRONMENT = 'default';
/** Refusals that mean the server (or someone) tampered with what it serves: each is audited. */
const TAMPERING = new Set([
  'KEY_GRANT_INVALID',
  'ROSTER_INVALID',
  'POLICY_SIGNATURE_INVALID',
  'POLICY_ROLLBACK',
]);

function notLoggedIn(): AgentSecretsError {
  return new AgentSecretsError('UNAUTHORIZED', 'not logged in to a sync server', {
    hint: 'set AGENTSECRETS_SERVER and run `agentsecrets login EMAIL` (or `agentsecrets signup EMAIL`)',
  });
}

function noWorkspace(): AgentSecretsError {
  return new AgentSecretsError('NOT_SET_UP', 'no sync workspace is selected', {
    hint: 'run `agentsecrets workspace create NAME` or `agentsecrets workspace switch NAME`',
  });
}

/** What {@link TeamAccess} works with. */
export interface TeamAccessParts {
  /** The vault: the session and the team trust record are kept in it. */
  readonly vault: SecretStore;
  /** `$AGENTSECRETS_HOME`, where sync.json is. */
  readonly home: string;
  /** `AGENTSECRETS_SERVER`: where sign-up and login go. */
  readonly server: string | undefined;
  /** The current project's name: projects are matched by name inside a team workspace. */
  readonly projectName: string;
  /** Appends an audit event (refusals that mean tampering, by code). */
  readonly record: (event: AuditEventInput) => Promise<void>;
}

/** The logged-in session and the trust the owner set up. */
export interface TeamSession {
  readonly trust: TeamTrust;
  readonly client: SyncClient;
  readonly session: SyncSession;
}

/** The selected workspace, verified, and where the current project's secrets are in it. */
export interface TeamLocation extends TeamSession {
  readonly opened: OpenedWorkspace;
  readonly at: SyncLocation;
}

/**
 * How every team operation reaches the server: the session kept in the vault, the trust record, the selected
 * workspace verified against its pinned roster, fresh logins for roster and policy signing, and the audit of
 * refusals that mean tampering.
 */
export class TeamAccess {
  readonly vault: SecretStore;
  readonly trust: VaultRecord<TeamTrust> & { delete(): Promise<void> };
  readonly state: TeamRecords;
  readonly #server: string | undefined;
  readonly #projectName: string;
  readonly #record: (event: AuditEventInput) => Promise<void>;

  constructor(parts: TeamAccessParts) {
    this.vault = parts.vault;
    this.trust = teamTrust(parts.vault);
    this.state = new TeamRecords(this.trust, parts.home);
    this.#server = parts.server;
    this.#projectName = parts.projectName;
    this.#record = parts.record;
  }

  /** A client for `server`, else `AGENTSECRETS_SERVER`. */
  client(server?: string): SyncClient {
    const url = server ?? this.#server;
    if (url === undefined || url === '') {
      throw new AgentSecretsError('CONFIG_INVALID', 'no sync server is configured', {
        hint: 'set AGENTSECRETS_SERVER to the sync server URL',
      });
    }
    return new SyncClient(url);
  }

  /** Keeps the (possibly refreshed) session in the vault. */
  saveSession(session: SyncSession): Promise<void> {
    return saveSession(this.vault, session);
  }

  /** The logged-in session on the server the owner set up. */
  async session(): Promise<TeamSession> {
    const trust = await this.state.trust();
    if (trust === undefined) {
      if (await hasSession(this.vault)) {
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
    return { trust, client: this.client(trust.server), session: await loadSession(this.vault, notLoggedIn) };
  }

  /** Records a refusal that means tampering (by code, never a value), then lets it through. */
  async audited<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      const code = toAgentSecretsError(e).code;
      if (TAMPERING.has(code)) await this.refusal(code);
      throw e;
    }
  }

  /** Records a refusal by its reason code. */
  async refusal(reason: string): Promise<void> {
    await this.#record(useEvent('cli', [], 'BLOCKED', reason)).catch(() => undefined);
  }

  /** A workspace of ours on the server, by name or id (NOT_A_MEMBER when the server lists none). */
  async entry(client: SyncClient, session: SyncSession, nameOrId: string): Promise<WorkspaceEntry> {
    const entry = (await client.listWorkspaces(session)).find(
      (w) => w.id === nameOrId || w.name === nameOrId,
    );
    if (entry === undefined) {
      throw new AgentSecretsError(
        'NOT_A_MEMBER',
        `no workspace named ${nameOrId.slice(0, 64)} on the server (or you are no longer a member)`,
        { hint: 'see `agentsecrets workspace list`' },
      );
    }
    return entry;
  }

  /**
   * The selected workspace, verified: its roster against the pin, our key grant against the roster. An admin client
   * rotates the key first when the roster asks for it; a rotation the server claims but no admin signed is refused
   * (audited) and ignored.
   */
  async location(): Promise<TeamLocation> {
    const { trust, client, session } = await this.session();
    if (trust.current === null) throw noWorkspace();
    const pinned = trust.workspaces[trust.current];
    if (pinned === undefined) throw noWorkspace();
    const entry = await this.entry(client, session, trust.current);
    let opened = await client.openWorkspace(session, entry, pinned);
    if (opened.serverClaimsRotation) await this.refusal('ROTATION_UNSIGNED');
    if (opened.workspace.rotationPending && opened.workspace.role === 'admin') {
      opened = await client.rotate(session, opened);
    }
    await this.state.remember(opened);
    // Projects are matched by name inside a team workspace: each machine has its own local ids.
    return {
      trust,
      client,
      session,
      opened,
      at: { workspace: opened.workspace, projectId: this.#projectName, environment: ENVIRONMENT },
    };
  }

  /** The selected workspace, when we are one of its admins. */
  async admin(): Promise<TeamLocation> {
    const loc = await this.location();
    if (loc.opened.workspace.role !== 'admin') {
      throw new AgentSecretsError('REQUEST_REFUSED', `you are not an admin of ${loc.opened.workspace.name}`, {
        hint: 'ask an admin of the workspace',
      });
    }
    return loc;
  }

  /**
   * Runs roster or policy work with the account password proved again: a fresh login yields the signing key, so an
   * agent that holds the logged-in session cannot admit anyone (itself included), change roles or widen the team
   * policy through the CLI.
   */
  async signing<T>(
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
}
