import type { AuditEventInput } from '@agentsecrets/audit';
import { AgentSecretsError } from '@agentsecrets/errors';
import { MIN_REDACTABLE_LENGTH, secretNotFound } from '@agentsecrets/injection';
import type { SecretStore, SecretValue } from '@agentsecrets/keychain';
import { assertSecretName } from '@agentsecrets/names';
import { useEvent } from './audit-trail.js';
import type { Release, SecretInfo } from './credential-client.js';
import type { OwnerKey } from './owner.js';
import { type PolicyStore, projectPolicy } from './policy.js';
import type { PolicyInForce, PolicyScope } from './policy-admin.js';
import type { ProjectScope, SecretCache } from './secret-cache.js';

/** What {@link ProjectSecrets} works with. */
export interface ProjectSecretsParts {
  readonly store: SecretStore;
  readonly project: ProjectScope;
  readonly scope: PolicyScope;
  readonly cache: SecretCache;
  readonly policy: PolicyInForce;
  readonly policyStore: PolicyStore;
  readonly record: (event: AuditEventInput) => Promise<void>;
}

/** The current project's secrets: names and policy marks for everyone, values only to the owner or by release. */
export class ProjectSecrets {
  readonly #p: ProjectSecretsParts;

  constructor(parts: ProjectSecretsParts) {
    this.#p = parts;
  }

  #notFound(): AgentSecretsError {
    return secretNotFound(this.#p.project.name, 'run `agentsecrets secrets list` to see the names');
  }

  /** The project's secrets by name, with their bindings and release marks. Never values. */
  async list(): Promise<SecretInfo[]> {
    const policy = await this.#p.policy.fresh();
    const { workspaceId, projectId } = this.#p.scope;
    const body = this.#p.policy.body().workspaces[workspaceId]?.projects[projectId];
    const names = await this.#p.store.list(this.#p.project.namespace);
    return names.map((name) => ({
      name,
      releasable: policy.releasable.has(name),
      bindings: body?.bindings[name] ?? [],
    }));
  }

  /** The names only (what team sync compares). */
  names(): Promise<string[]> {
    return this.#p.store.list(this.#p.project.namespace);
  }

  /** The value of a secret for team sync's comparison and push; never leaves this machine unsealed. */
  get(name: string): Promise<SecretValue | undefined> {
    return this.#p.store.get(this.#p.project.namespace, assertSecretName(name));
  }

  /** Stores a secret; `redactable` is false for values too short to redact (under 8 bytes) without mangling text. */
  async set(name: string, value: Uint8Array | string): Promise<{ redactable: boolean }> {
    assertSecretName(name);
    await this.#p.store.set(this.#p.project.namespace, name, value);
    this.#p.cache.invalidate();
    const length = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
    return { redactable: length >= MIN_REDACTABLE_LENGTH };
  }

  /** Deletes a secret, and with the owner key its policy entries too. True when it existed. */
  async delete(name: string, owner?: OwnerKey): Promise<boolean> {
    const existed = await this.#p.store.delete(this.#p.project.namespace, assertSecretName(name));
    this.#p.cache.invalidate();
    if (owner !== undefined) {
      await this.#p.policyStore.update(owner, (body) => {
        const p = projectPolicy(body, this.#p.scope.workspaceId, this.#p.scope.projectId);
        delete p.bindings[name];
        p.releasable = p.releasable.filter((n) => n !== name);
      });
    }
    return existed;
  }

  /** Owner only: the value itself (for `secrets get`, which prints only to a terminal). Audited. */
  async reveal(name: string, _owner: OwnerKey): Promise<SecretValue> {
    const value = await this.#p.store.get(this.#p.project.namespace, assertSecretName(name));
    await this.#p.record(useEvent('cli', [name], value === undefined ? 'ERROR' : 'OK', 'owner_reveal'));
    if (value === undefined) throw this.#notFound();
    return value;
  }

  /** Owner only: marks a secret releasable to `env`/`exec` (or takes the mark back). Audited. */
  async setReleasable(name: string, on: boolean, owner: OwnerKey): Promise<void> {
    assertSecretName(name);
    if (on && !(await this.#p.store.has(this.#p.project.namespace, name))) throw this.#notFound();
    await this.#p.policyStore.update(owner, (body) => {
      const p = projectPolicy(body, this.#p.scope.workspaceId, this.#p.scope.projectId);
      const rest = p.releasable.filter((n) => n !== name);
      p.releasable = on ? [...rest, name].sort() : rest;
    });
    await this.#p.record(useEvent('cli', [name], 'OK', on ? 'release_on' : 'release_off'));
  }

  /**
   * Hands values to another process (`env`, `exec`): only secrets the owner marked releasable; others come back in
   * `errors` as NOT_RELEASABLE. With no names, every releasable secret. Audited by key name.
   */
  async release(names: readonly string[] | undefined, transport: 'env' | 'exec'): Promise<Release> {
    const policy = await this.#p.policy.fresh();
    const ns = this.#p.project.namespace;
    const available = await this.#p.store.list(ns);
    const wanted = names ?? available.filter((n) => policy.releasable.has(n));
    const values = new Map<string, SecretValue>();
    const errors = new Map<string, AgentSecretsError>();
    for (const name of wanted) {
      if (!available.includes(name)) {
        errors.set(name, this.#notFound());
      } else if (!policy.releasable.has(name)) {
        errors.set(
          name,
          new AgentSecretsError(
            'NOT_RELEASABLE',
            `${name} is injection-only and cannot be handed to a process`,
            {
              hint: `the owner can allow it with \`agentsecrets secrets release ${name} on\`, or use it through call/proxy/MCP`,
            },
          ),
        );
      } else {
        const value = await this.#p.store.get(ns, name);
        if (value === undefined) errors.set(name, this.#notFound());
        else values.set(name, value);
      }
    }
    const status = errors.size === 0 ? 'OK' : values.size === 0 ? 'BLOCKED' : 'ERROR';
    await this.#p.record(
      useEvent(
        transport,
        // Only stored names are recorded: what was given where a name belongs may be a value pasted by mistake.
        wanted.filter((n) => available.includes(n)),
        status,
        errors.size === 0 ? null : [...new Set([...errors.values()].map((e) => e.code))].join(','),
      ),
    );
    return { values, errors };
  }
}
