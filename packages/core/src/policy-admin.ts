import type { EnginePolicy } from '@agentsecrets/injection';
import type { SecretStore } from '@agentsecrets/keychain';
import { assertSecretName } from '@agentsecrets/names';
import { isUnopened } from './lazy-store.js';
import type { OwnerKey } from './owner.js';
import {
  type BindingRecord,
  canonicalBinding,
  canonicalEntries,
  type EffectivePolicy,
  type PolicyBody,
  type PolicyStore,
  projectPolicy,
  workspacePolicy,
} from './policy.js';
import type { TeamPolicy } from './team-policy.js';

/** The workspace and project a policy view is for. */
export interface PolicyScope {
  readonly workspaceId: string;
  readonly projectId: string;
}

const NO_TEAM_POLICY: TeamPolicy = { allowlist: [], bindings: new Map() };

/** Where the team policy comes from (TeamSync): looked for, or taken as last looked at. */
export interface TeamPolicySource {
  policy(): Promise<TeamPolicy>;
  policyNow(): TeamPolicy | undefined;
}

/**
 * The policy in force for one project: the owner-signed local policy and the team policy accepted into the vault
 * (admin-signed, verified against pinned keys), applied together. {@link fresh} looks for changes on disk; the engine
 * reads {@link forEngine} on every call.
 */
export class PolicyInForce {
  readonly #store: PolicyStore;
  readonly #team: TeamPolicySource;
  readonly #scope: PolicyScope;
  #teamPolicy: TeamPolicy = NO_TEAM_POLICY;

  constructor(store: PolicyStore, team: TeamPolicySource, scope: PolicyScope) {
    this.#store = store;
    this.#team = team;
    this.#scope = scope;
  }

  /** Loads the policy from disk if it changed; throws POLICY_SIGNATURE_INVALID or POLICY_ROLLBACK when tampered with. */
  async fresh(): Promise<EffectivePolicy> {
    await this.#store.refresh();
    this.#teamPolicy = await this.#team.policy();
    return this.#effective();
  }

  /**
   * {@link fresh} without waiting, for the hot path of a call: the policy in force when both files were looked at
   * within the recheck interval, undefined when a look is due (await fresh then).
   */
  freshNow(): EffectivePolicy | undefined {
    const team = this.#team.policyNow();
    if (team === undefined || !this.#store.refreshNow()) return undefined;
    this.#teamPolicy = team;
    return this.#effective();
  }

  #effective(): EffectivePolicy {
    return this.#store.effective(this.#scope.workspaceId, this.#scope.projectId);
  }

  /** The signed body as loaded by the last {@link fresh}. */
  body(): PolicyBody {
    return this.#store.body;
  }

  /** What the engine reads: both policies as of the last {@link fresh}. */
  forEngine(): EnginePolicy {
    return {
      allowlist: () => [...this.#effective().allowlist, ...this.#teamPolicy.allowlist],
      bindings: (name) => [
        ...(this.#effective().bindings.get(name) ?? []),
        ...(this.#teamPolicy.bindings.get(name) ?? []),
      ],
    };
  }
}

/** The workspace allowlist (canonical entries) and its owner-only changes. */
export class AllowlistAdmin {
  readonly #store: PolicyStore;
  readonly #workspaceId: string;
  readonly #secrets: SecretStore;

  constructor(store: PolicyStore, workspaceId: string, secrets: SecretStore) {
    this.#store = store;
    this.#workspaceId = workspaceId;
    this.#secrets = secrets;
  }

  async list(): Promise<string[]> {
    // With the file vault not opened, the signature is checked but not the vault's rollback anchor: reading needs no
    // passphrase, and every call still checks both before it sends anything.
    if (isUnopened(this.#secrets)) {
      return [...((await this.#store.peek()).workspaces[this.#workspaceId]?.allowlist ?? [])];
    }
    await this.#store.refresh();
    return [...(this.#store.body.workspaces[this.#workspaceId]?.allowlist ?? [])];
  }

  /** Adds entries (owner); returns them in canonical form. */
  async add(entries: readonly string[], owner: OwnerKey): Promise<string[]> {
    const canonical = canonicalEntries(entries);
    await this.#store.update(owner, (body) => {
      const ws = workspacePolicy(body, this.#workspaceId);
      ws.allowlist = [...new Set([...ws.allowlist, ...canonical])].sort();
    });
    return canonical;
  }

  /** Removes entries (owner); returns those that were there. */
  async remove(entries: readonly string[], owner: OwnerKey): Promise<string[]> {
    const canonical = canonicalEntries(entries);
    let removed: string[] = [];
    await this.#store.update(owner, (body) => {
      const ws = workspacePolicy(body, this.#workspaceId);
      removed = ws.allowlist.filter((e) => canonical.includes(e));
      ws.allowlist = ws.allowlist.filter((e) => !canonical.includes(e));
    });
    return removed;
  }
}

/** Per-secret destination bindings of one project and their owner-only changes. */
export class BindingsAdmin {
  readonly #store: PolicyStore;
  readonly #scope: PolicyScope;

  constructor(store: PolicyStore, scope: PolicyScope) {
    this.#store = store;
    this.#scope = scope;
  }

  async list(): Promise<Record<string, BindingRecord[]>> {
    await this.#store.refresh();
    const { workspaceId, projectId } = this.#scope;
    return structuredClone(this.#store.body.workspaces[workspaceId]?.projects[projectId]?.bindings ?? {});
  }

  /**
   * Adds a binding `HOST[:PORT][/PATH-PREFIX]` (with methods, empty = any) to a secret, replacing the one for the
   * same destination. `placements` (`query:api_key`, `body:a.b`, `form:f`, `bearer`, `header:X-Key` …) are where it
   * may be injected there; empty, the header styles only.
   */
  async add(
    name: string,
    destination: string,
    methods: readonly string[],
    owner: OwnerKey,
    placements: readonly string[] = [],
  ): Promise<BindingRecord> {
    assertSecretName(name);
    const record = canonicalBinding(destination, methods, placements);
    await this.#store.update(owner, (body) => {
      const p = projectPolicy(body, this.#scope.workspaceId, this.#scope.projectId);
      const existing = (p.bindings[name] ?? []).filter((b) => b.destination !== record.destination);
      p.bindings[name] = [...existing, record];
    });
    return record;
  }

  /** Removes every binding of a secret (it may then go to any allowlisted destination). */
  async clear(name: string, owner: OwnerKey): Promise<void> {
    await this.#store.update(owner, (body) => {
      delete projectPolicy(body, this.#scope.workspaceId, this.#scope.projectId).bindings[
        assertSecretName(name)
      ];
    });
  }
}
