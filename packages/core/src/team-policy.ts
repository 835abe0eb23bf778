import { AgentSecretsError } from '@agentsecrets/errors';
import { StampedCache } from '@agentsecrets/fs';
import {
  type AllowlistEntry,
  type Binding,
  parseAllowlistEntry,
  parseBinding,
} from '@agentsecrets/injection';
import {
  type OpenedWorkspace,
  rosterAdmins,
  type SignedPolicy,
  type SyncClient,
  type SyncSession,
  signPolicy,
  verifyPolicy,
} from '@agentsecrets/sync';
import type { TeamTrust, VaultRecord } from './anchor.js';
import { canonicalBinding, canonicalEntries, RECHECK_MS } from './policy.js';
import type { TeamAccess } from './team-access.js';

/** The team policy in force for the selected workspace, parsed for the engine. */
export interface TeamPolicy {
  readonly allowlist: readonly AllowlistEntry[];
  readonly bindings: ReadonlyMap<string, readonly Binding[]>;
}

const NO_POLICY: TeamPolicy = { allowlist: [], bindings: new Map() };

function parsePolicy(policy: SignedPolicy): TeamPolicy {
  return {
    allowlist: policy.allowlist.map((e) => parseAllowlistEntry(e)),
    bindings: new Map(
      Object.entries(policy.bindings).map(([k, list]) => [
        k,
        list.map((b) => parseBinding(b.destination, b.methods)),
      ]),
    ),
  };
}

/** The accepted team policy of the selected workspace, as kept in the vault (null when there is none). */
export function storedPolicy(trust: TeamTrust | undefined): SignedPolicy | null {
  const ws = trust?.current ?? null;
  return ws === null ? null : ((trust?.workspaces[ws]?.policy ?? null) as SignedPolicy | null);
}

/**
 * What the engine reads: the team policy accepted into the vault. sync.json's stamp tells when to look again; its
 * content is never read for policy.
 */
export class TeamPolicyView {
  readonly #trust: VaultRecord<TeamTrust>;
  readonly #cache: StampedCache<TeamPolicy>;

  constructor(trust: VaultRecord<TeamTrust>, syncFile: string) {
    this.#trust = trust;
    this.#cache = new StampedCache(syncFile, RECHECK_MS);
  }

  readonly #policySeen = new Map<string, number>();

  /** {@link policy} without waiting, while sync.json was looked at recently; undefined when a look is due. */
  policyNow(): TeamPolicy | undefined {
    return this.#cache.current();
  }

  /**
   * The team policy of the selected workspace, for the engine: the one accepted into the vault, re-verified. Looked
   * at again when sync.json changes (at most every 200 ms). Nothing in a file can add a team policy: where the owner
   * did not set sync up, there is none.
   */
  policy(): Promise<TeamPolicy> {
    return this.#cache.get(async () => {
      const trust = await this.#trust.get();
      const ws = trust?.current ?? null;
      const stored = storedPolicy(trust);
      if (ws === null || stored === null) return NO_POLICY;
      const verified = verifyPolicy(stored, {
        workspaceId: ws,
        adminSigningKeys: [stored.signer],
        minSerial: this.#policySeen.get(ws) ?? 0,
      });
      this.#policySeen.set(ws, verified.serial);
      return parsePolicy(verified);
    });
  }
}

/**
 * The server's team policy, accepted only when it is newer than ours and signed by an admin of the verified
 * roster. The same serial must be the same policy; an older one is a rollback. Both are refused (and audited).
 */
export async function acceptPolicy(
  client: SyncClient,
  session: SyncSession,
  opened: OpenedWorkspace,
  stored: SignedPolicy | null,
  changing = false,
): Promise<SignedPolicy | undefined> {
  const remote = await client.getPolicy(session, opened.workspace.id);
  if (remote === null) {
    // An admin about to sign the next version may restore what the server lost.
    if (stored === null || changing) return undefined;
    throw new AgentSecretsError(
      'POLICY_ROLLBACK',
      `the server no longer has the team policy of ${opened.workspace.name}`,
      {
        hint: 'the server dropped a policy this machine accepted; the accepted one stays in force. Tell your admins',
      },
    );
  }
  const seen = stored?.serial ?? 0;
  if (remote.serial < seen || (remote.serial === seen && remote.signature !== stored?.signature)) {
    throw new AgentSecretsError(
      'POLICY_ROLLBACK',
      `the server offered team policy serial ${remote.serial} of ${opened.workspace.name}; this machine has ${seen}`,
      { hint: 'the server rolled the policy back; the accepted one stays in force. Tell your admins' },
    );
  }
  if (remote.serial === seen) return undefined;
  return verifyPolicy(remote, {
    workspaceId: opened.workspace.id,
    adminSigningKeys: rosterAdmins(opened.roster.latest),
    minSerial: seen + 1,
  });
}

/** The accepted team allowlist entries (canonical text), for display. */
export async function teamAllowlist(trust: VaultRecord<TeamTrust>): Promise<string[]> {
  return [...(storedPolicy(await trust.get())?.allowlist ?? [])];
}

/** A team policy as an admin edits it: allowlist entries and per-secret bindings, canonical text. */
export interface TeamPolicyDraft {
  allowlist: string[];
  bindings: Record<string, { destination: string; methods: string[] }[]>;
}

/**
 * Changes to the team policy of the selected workspace (admin). Each asks for the account password again: a fresh
 * login proves it and yields the signing key, so an agent holding a logged-in session cannot widen where credentials
 * go.
 */
export class TeamPolicyAdmin {
  readonly #access: TeamAccess;

  constructor(access: TeamAccess) {
    this.#access = access;
  }

  /** Signs the next version of the team policy with `change` applied to the newest one, and publishes it. */
  async change(password: string, change: (draft: TeamPolicyDraft) => void): Promise<SignedPolicy> {
    return this.#access.audited(async () => {
      const loc = await this.#access.location();
      const { client, trust, opened } = loc;
      const stored = storedPolicy(trust);
      return this.#access.signing(loc, password, async (fresh) => {
        const newer = await acceptPolicy(client, fresh, opened, stored, true);
        const base = newer ?? stored;
        const draft: TeamPolicyDraft = {
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
        await this.#access.state.remember(opened, { policy: signed });
        return signed;
      });
    });
  }

  /** Adds or removes team allowlist entries; returns the new list (canonical entries). */
  async changeAllowlist(
    password: string,
    add: readonly string[],
    remove: readonly string[],
  ): Promise<string[]> {
    const added = canonicalEntries(add);
    const removed = canonicalEntries(remove);
    const signed = await this.change(password, (p) => {
      p.allowlist = [...new Set([...p.allowlist.filter((e) => !removed.includes(e)), ...added])].sort();
    });
    return [...signed.allowlist];
  }

  /** Binds a secret name to a destination in the team policy. */
  async bind(password: string, name: string, destination: string, methods: readonly string[]): Promise<void> {
    const record = canonicalBinding(destination, methods);
    await this.change(password, (p) => {
      p.bindings[name] = [
        ...(p.bindings[name] ?? []).filter((b) => b.destination !== record.destination),
        record,
      ];
    });
  }
}
