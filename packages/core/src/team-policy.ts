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
  verifyPolicy,
} from '@agentsecrets/sync';
import type { TeamTrust, VaultRecord } from './anchor.js';
import { RECHECK_MS } from './policy.js';

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
