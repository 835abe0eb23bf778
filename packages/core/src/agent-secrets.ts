import type { AuditEventInput } from '@agentsecrets/audit';
import type { AgentSecretsError } from '@agentsecrets/errors';
import type { Redactor } from '@agentsecrets/injection';
import type { Namespace, SecretStore, SecretValue } from '@agentsecrets/keychain';
import type {
  AgentCallRequest,
  AgentCallResponse,
  BufferedResponse,
  CredentialClient,
  Release,
  SecretInfo,
  StatusInfo,
} from './credential-client.js';
import type { HomePaths } from './home.js';
import type { ProjectRef, Workspace } from './model.js';
import { type OwnerKey, unlockOwnerKey } from './owner.js';
import type { AllowlistAdmin, BindingsAdmin } from './policy-admin.js';
import type { Projects } from './projects.js';
import type { TeamSync } from './team.js';
import type { CoreParts } from './wiring.js';

/**
 * The one credential-resolution core: config, project, store, signed policy, audit log and injection engine,
 * composed. The CLI, the proxy and the MCP server are thin layers over it, and other tools can embed it. A facade:
 * each member delegates to a part wired in wiring.ts.
 *
 * @example
 * ```ts
 * const as = await createAgentSecrets();
 * const res = await as.fetch({
 *   url: 'https://api.stripe.com/v1/balance',
 *   injections: parseInjectionObject({ bearer: 'STRIPE_KEY' }),
 *   transport: 'cli',
 * });
 * console.log(res.status, res.body.toString());
 * await as.close();
 * ```
 */
export class AgentSecrets implements CredentialClient {
  readonly paths: HomePaths;
  readonly store: SecretStore;
  readonly workspace: Workspace;
  readonly project: ProjectRef;
  /** The workspace allowlist and its owner-only changes. */
  readonly allowlist: AllowlistAdmin;
  /** Per-secret destination bindings and their owner-only changes. */
  readonly bindings: BindingsAdmin;
  /** Projects of the current workspace. */
  readonly projects: Projects;
  /** Team sync through `AGENTSECRETS_SERVER` (zero-knowledge: only ciphertext leaves this machine). */
  readonly team: TeamSync;
  readonly #p: CoreParts;

  /** Use `createAgentSecrets`. */
  constructor(parts: CoreParts) {
    this.#p = parts;
    this.paths = parts.paths;
    this.store = parts.store;
    this.workspace = parts.workspace;
    this.project = parts.project;
    this.allowlist = parts.allowlist;
    this.bindings = parts.bindings;
    this.projects = parts.projects;
    this.team = parts.team;
  }

  /** The store namespace of the current project. */
  get namespace(): Namespace {
    return { workspace: this.workspace.id, project: this.project.id };
  }

  /** The audit log of this home. */
  get auditPath(): string {
    return this.paths.audit;
  }

  /** Sends one request with credentials injected by name; the body streams, redacted. Fails closed on the audit log. */
  call(request: AgentCallRequest): Promise<AgentCallResponse> {
    return this.#p.calls.call(request);
  }

  /**
   * The forward proxy's question for `agentsecrets run` before it opens a tunnel or forwards a request without
   * credentials: is the origin of `url` allowlisted, and at which checked addresses may it be dialled (SPEC §7).
   */
  forwardTarget(url: string): Promise<{ allowlisted: boolean; addresses: string[] }> {
    return this.#p.calls.forwardTarget(url);
  }

  /** {@link call}, with the whole body read (up to `maxBytes`, default 50 MiB); withheld if it cannot be audited. */
  fetch(request: AgentCallRequest & { readonly maxBytes?: number }): Promise<BufferedResponse> {
    return this.#p.calls.fetch(request);
  }

  /** Appends an audit event; {@link close} waits for the ones in flight. */
  record(input: AuditEventInput): Promise<void> {
    return this.#p.audit.record(input);
  }

  /** Tells `listener` of every audit write that fails, also those no caller waits for. One listener. */
  onAuditError(listener: (error: AgentSecretsError) => void): void {
    this.#p.audit.onError(listener);
  }

  /** The project's secrets by name, with their bindings and release marks. Never values. */
  listSecrets(): Promise<SecretInfo[]> {
    return this.#p.secrets.list();
  }

  /** Stores a secret; `redactable` is false for a value too short to redact from responses (under 8 bytes). */
  setSecret(name: string, value: Uint8Array | string): Promise<{ redactable: boolean }> {
    return this.#p.secrets.set(name, value);
  }

  /** Deletes a secret, and with the owner key its policy entries. True when it existed. */
  deleteSecret(name: string, owner?: OwnerKey): Promise<boolean> {
    return this.#p.secrets.delete(name, owner);
  }

  /** Owner only: the value itself (for `secrets get`, which prints only to a terminal). Audited. */
  revealSecret(name: string, owner: OwnerKey): Promise<SecretValue> {
    return this.#p.secrets.reveal(name, owner);
  }

  /** Owner only: marks a secret releasable to `env`/`exec` (or takes the mark back). Audited. */
  setReleasable(name: string, on: boolean, owner: OwnerKey): Promise<void> {
    return this.#p.secrets.setReleasable(name, on, owner);
  }

  /** Hands releasable values to another process (`env`, `exec`); the rest come back in `errors`. Audited. */
  release(names: readonly string[] | undefined, transport: 'env' | 'exec'): Promise<Release> {
    return this.#p.secrets.release(names, transport);
  }

  /** A redactor for every secret of the project: what masks a child's output in `env`. */
  redactor(): Promise<Redactor> {
    return this.#p.cache.redactor();
  }

  /** Opens the owner key with the passphrase; owner actions take the result. */
  unlockOwner(passphrase: string): Promise<OwnerKey> {
    return unlockOwnerKey(this.#p.config.owner, passphrase);
  }

  /** Backend, workspace, project, policy sizes, last sync and the running proxy. */
  async status(): Promise<StatusInfo> {
    const policy = await this.#p.policy.fresh();
    return {
      home: this.paths.home,
      backend: this.store.backend,
      workspace: { id: this.workspace.id, name: this.workspace.name, kind: this.workspace.kind },
      project: this.project,
      secrets: (await this.store.list(this.namespace)).length,
      allowlist: policy.allowlist.length,
      auditLog: this.paths.audit,
      lastSync: (await this.team.state().catch(() => undefined))?.lastSync ?? null,
      proxy: await this.#p.runningProxy(),
    };
  }

  /** Waits for pending audit writes (events still owed included) and closes pooled connections. Safe to repeat. */
  close(): Promise<void> {
    return this.#p.calls.close();
  }
}
