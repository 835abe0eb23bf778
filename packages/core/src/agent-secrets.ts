import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type AuditEvent, type AuditEventInput, AuditLog } from '@agentsecrets/audit';
import { randomId } from '@agentsecrets/crypto';
import { AgentSecretsError, toAgentSecretsError } from '@agentsecrets/errors';
import {
  type CallOutcome,
  type CallRequest,
  type CallResponse,
  type EngineOptions,
  type InjectableSecret,
  InjectionEngine,
  MIN_REDACTABLE_LENGTH,
  Redactor,
} from '@agentsecrets/injection';
import {
  assertSecretName,
  type BackendName,
  type Namespace,
  openSecretStore,
  type PassphraseSource,
  type SecretStore,
  type SecretValue,
} from '@agentsecrets/keychain';
import { policyAnchor } from './anchor.js';
import { type HomePaths, readJsonFile, resolveHome, writeJsonFile } from './home.js';
import { assertName, type Config, ConfigSchema, type ProjectRef, type Workspace } from './model.js';
import { type OwnerKey, unlockOwnerKey } from './owner.js';
import {
  type BindingRecord,
  canonicalBinding,
  canonicalEntries,
  PolicyStore,
  projectPolicy,
  workspacePolicy,
} from './policy.js';
import { findProjectLink } from './project-link.js';
import { readProxyState } from './proxy-state.js';
import { type TeamPolicy, TeamSync } from './team.js';

/** Which way a use of a credential came in; recorded in the audit log. */
export type Transport = AuditEvent['transport'];

/** Options of {@link createAgentSecrets}. */
export interface AgentSecretsOptions {
  /** `$AGENTSECRETS_HOME`; default from the environment, else `~/.agentsecrets`. */
  readonly home?: string;
  /** Where to look for the project link (`.agentsecrets/project.json`); default `process.cwd()`. */
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** A project name or id to use instead of the linked one. */
  readonly project?: string;
  /** A store to use instead of the configured backend (embedding, tests). */
  readonly store?: SecretStore;
  /** Unlocks the file vault; default `AGENTSECRETS_PASSPHRASE`. */
  readonly passphrase?: PassphraseSource;
  /**
   * For a store that cannot tell when a value changed (the OS keychain): how long the project's values the redactor
   * is built from are kept, in ms. Default 30 s. Injected values are read for each call all the same, and one that
   * changed rebuilds the set. A store that can (the file vault) keeps them exactly until its revision changes.
   */
  readonly secretCacheMs?: number;
  /** Engine settings: timeouts, body limit, and (tests) the DNS lookup and TLS trust. */
  readonly engine?: Pick<EngineOptions, 'timeouts' | 'maxRequestBodyBytes' | 'lookup' | 'tls'>;
}

/** One call through the core: the engine's request plus who made it. */
export interface AgentCallRequest extends Omit<CallRequest, 'onOutcome'> {
  /** The way the call came in, as the recording process knows it. */
  readonly transport: Transport;
  readonly agentId?: string;
  /** What the caller said about itself and cannot be checked (the proxy's X-AS-Transport, X-AS-Agent-ID). */
  readonly claims?: { readonly transport?: Transport; readonly agentId?: string };
}

/** A streaming response of {@link AgentSecrets.call}. */
export interface AgentCallResponse extends CallResponse {
  /**
   * Settles once the call's audit event is written: rejects (AUDIT_IO) when it could not be (the event is then owed
   * and retried, and the next call is refused until it is written). {@link AgentSecrets.fetch} withholds the answer
   * when it rejects; a streaming transport can report it.
   */
  readonly recorded: Promise<void>;
}

/** A whole response, read to the end and redacted: what the CLI and the MCP server hand back. */
export interface BufferedResponse {
  readonly status: number;
  readonly headers: readonly [string, string][];
  readonly body: Buffer;
  readonly redacted: boolean;
}

/** A secret as listed: its name and policy, never its value. */
export interface SecretInfo {
  readonly name: string;
  readonly releasable: boolean;
  readonly bindings: readonly BindingRecord[];
}

/** What `status` reports. */
export interface StatusInfo {
  readonly home: string;
  readonly backend: BackendName;
  readonly workspace: { readonly id: string; readonly name: string; readonly kind: string };
  readonly project: ProjectRef;
  readonly secrets: number;
  readonly allowlist: number;
  readonly auditLog: string;
  readonly lastSync: string | null;
  /** The running proxy of this home, if any (never its token). */
  readonly proxy: { readonly pid: number; readonly url: string; readonly auth: boolean } | null;
}

/**
 * What a transport needs to act with credentials, whether it holds the vault itself ({@link AgentSecrets}) or goes
 * through the running proxy ({@link ProxyClient}).
 */
export interface CredentialClient {
  fetch(request: AgentCallRequest & { readonly maxBytes?: number }): Promise<BufferedResponse>;
  listSecrets(): Promise<SecretInfo[]>;
  status(): Promise<StatusInfo>;
  close(): Promise<void>;
}

/** Values released to another process (`env`, `exec`), and the names refused with why. */
export interface Release {
  readonly values: ReadonlyMap<string, SecretValue>;
  readonly errors: ReadonlyMap<string, AgentSecretsError>;
}

interface Events {
  outcome: [outcome: CallOutcome & { transport: Transport }];
  'audit-error': [error: AgentSecretsError];
}

interface Snapshot {
  readonly values: ReadonlyMap<string, SecretValue>;
  readonly redactor: Redactor;
  readonly loadedAt: number;
  /** The store's revision when the values were read; undefined for a store that has none (the OS keychain). */
  readonly revision: string | undefined;
}

const DEFAULT_MAX_BUFFERED = 50 * 1024 * 1024;

/** Does the snapshot hold exactly these values under these names? */
function holds(snapshot: Snapshot, injected: ReadonlyMap<string, InjectableSecret>): boolean {
  for (const [name, secret] of injected) {
    const held = snapshot.values.get(name);
    if (held === undefined) return false;
    const a = held.bytes();
    const b = secret.bytes();
    const same = a.length === b.length && timingSafeEqual(a, b);
    a.fill(0);
    b.fill(0);
    if (!same) return false;
  }
  return true;
}

/**
 * The one credential-resolution core: config, project, store, signed policy, audit log and injection engine,
 * composed. The CLI, the proxy and the MCP server are thin layers over it, and other tools can embed it.
 *
 * @example
 * ```ts
 * const as = await createAgentSecrets();
 * const res = await as.fetch({
 *   url: 'https://api.stripe.com/v1/balance',
 *   injections: [{ style: 'bearer', target: undefined, key: 'STRIPE_KEY' }],
 *   transport: 'cli',
 * });
 * console.log(res.status, res.body.toString());
 * await as.close();
 * ```
 */
export class AgentSecrets extends EventEmitter<Events> implements CredentialClient {
  readonly paths: HomePaths;
  readonly store: SecretStore;
  readonly workspace: Workspace;
  readonly project: ProjectRef;
  readonly #config: Config;
  readonly #policy: PolicyStore;
  readonly #audit: AuditLog;
  readonly #engine: InjectionEngine;
  readonly #cacheMs: number;
  /** Team sync through `AGENTSECRETS_SERVER` (zero-knowledge: only ciphertext leaves this machine). */
  readonly team: TeamSync;
  #snapshot: Promise<Snapshot> | undefined;
  /** The last redactor built and a digest of the names and values it was built from, kept across reloads. */
  #built: { readonly digest: string; readonly redactor: Redactor } | undefined;
  readonly #inflight = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;

  /** Use {@link createAgentSecrets}. */
  constructor(parts: {
    paths: HomePaths;
    config: Config;
    store: SecretStore;
    workspace: Workspace;
    project: ProjectRef;
    options: AgentSecretsOptions;
  }) {
    super();
    this.paths = parts.paths;
    this.#config = parts.config;
    this.store = parts.store;
    this.workspace = parts.workspace;
    this.project = parts.project;
    this.#cacheMs = parts.options.secretCacheMs ?? 30_000;
    this.team = new TeamSync(this, (parts.options.env ?? process.env).AGENTSECRETS_SERVER);
    this.#policy = new PolicyStore(
      parts.paths.policy,
      parts.config.owner.publicKey,
      policyAnchor(parts.store),
    );
    this.#audit = new AuditLog({ path: parts.paths.audit });
    const effective = () => this.#policy.effective(this.workspace.id, this.project.id);
    this.#engine = new InjectionEngine({
      ...parts.options.engine,
      // Local (owner-signed) policy and the team's (admin-signed, verified against pinned keys) apply together.
      policy: {
        allowlist: () => [...effective().allowlist, ...this.#teamPolicy.allowlist],
        bindings: (name) => [
          ...(effective().bindings.get(name) ?? []),
          ...(this.#teamPolicy.bindings.get(name) ?? []),
        ],
      },
      secrets: {
        resolve: (names) => this.#resolve(names),
        redactor: (injected) => this.#redactorFor(injected),
      },
    });
  }

  /** The store namespace of the current project. */
  get namespace(): Namespace {
    return { workspace: this.workspace.id, project: this.project.id };
  }

  #teamPolicy: TeamPolicy = { allowlist: [], bindings: new Map() };

  /** Loads the policy from disk if it changed; throws POLICY_SIGNATURE_INVALID when it was tampered with. */
  async #freshPolicy() {
    await this.#policy.refresh();
    this.#teamPolicy = await this.team.policy();
    return this.#policy.effective(this.workspace.id, this.project.id);
  }

  /**
   * The project's values and the redactor built from them. A store with a revision keeps them until its revision
   * changes (pass the current one); one without keeps them for `secretCacheMs`.
   */
  #loadSnapshot(force = false, revision?: string): Promise<Snapshot> {
    const current = this.#snapshot;
    if (current !== undefined && !force) {
      return current.then((s) => {
        const fresh =
          s.revision === undefined
            ? performance.now() - s.loadedAt < this.#cacheMs
            : revision === undefined || revision === s.revision;
        return fresh ? s : this.#loadSnapshot(true, revision);
      });
    }
    const next = (async () => {
      // Taken before the values are read: a change made meanwhile shows as a newer revision on the next call.
      const taken = revision ?? (await this.store.revision?.());
      const names = await this.store.list(this.namespace);
      const values = new Map<string, SecretValue>();
      const hash = createHash('sha256');
      for (const name of names) {
        const value = await this.store.get(this.namespace, name);
        if (value === undefined) continue;
        values.set(name, value);
        const bytes = value.bytes();
        hash.update(`${name}\0${bytes.length}\0`).update(bytes);
        bytes.fill(0);
      }
      const digest = hash.digest('hex');
      // Building a redactor takes tens of milliseconds (every encoded form of every value): not again for the same set.
      const built = this.#built;
      const redactor = built?.digest === digest ? built.redactor : new Redactor(values.values());
      this.#built = { digest, redactor };
      return { values, redactor, loadedAt: performance.now(), revision: taken };
    })();
    this.#snapshot = next;
    next.catch(() => {
      if (this.#snapshot === next) this.#snapshot = undefined;
    });
    return next;
  }

  #invalidate(): void {
    this.#snapshot = undefined;
  }

  /**
   * The redactor for a call: the cached one while it holds the values being injected, else one loaded afresh (a value
   * changed since it was built), and if the store changed again meanwhile, one that adds the injected values.
   */
  async #redactorFor(injected: ReadonlyMap<string, InjectableSecret>): Promise<Redactor> {
    let snapshot = await this.#loadSnapshot();
    if (!holds(snapshot, injected)) snapshot = await this.#loadSnapshot(true);
    if (holds(snapshot, injected)) return snapshot.redactor;
    return new Redactor([...snapshot.values.values(), ...injected.values()]);
  }

  /**
   * The values to inject, current for this call: a secret rotated or deleted by another process (the CLI beside a
   * running proxy) applies to the very next request. A store with a revision (file vault: one stat) says whether the
   * kept values still hold; from one without (the OS keychain) the injected values are read for each call.
   */
  async #resolve(names: readonly string[]): Promise<Map<string, SecretValue>> {
    const revision = await this.store.revision?.();
    const snapshot = revision === undefined ? undefined : await this.#loadSnapshot(false, revision);
    const out = new Map<string, SecretValue>();
    for (const name of names) {
      const value =
        snapshot === undefined ? await this.store.get(this.namespace, name) : snapshot.values.get(name);
      if (value === undefined) {
        throw new AgentSecretsError(
          'SECRET_NOT_FOUND',
          `no secret named ${name} in project ${this.project.name}`,
          {
            hint: 'run `agentsecrets secrets list` to see the names, or `agentsecrets secrets set` to add it',
          },
        );
      }
      out.set(name, value);
    }
    return out;
  }

  /**
   * Appends an audit event. The log batches concurrent appends; {@link close} waits for the ones still in flight.
   * A failed write is reported on `audit-error` as well as rejected.
   */
  record(input: AuditEventInput): Promise<void> {
    const write = this.#audit.append(input).then(() => undefined);
    this.#inflight.add(write);
    const settle = () => this.#inflight.delete(write);
    write.then(settle, (e: unknown) => {
      settle();
      const error = toAgentSecretsError(e);
      if (this.listenerCount('audit-error') > 0) this.emit('audit-error', error);
    });
    return write;
  }

  /**
   * Sends one request with credentials injected by name. Refusals throw before any secret is read. The response
   * body streams, redacted; the audit event is written when it ends (see {@link AgentCallResponse.recorded}).
   *
   * Fails closed: when the audit log cannot take the event — earlier events are still unwritten, the disk is full,
   * or this call's event would not validate — the call is refused with AUDIT_IO before anything is read or sent.
   */
  async call(request: AgentCallRequest): Promise<AgentCallResponse> {
    const { transport, agentId, claims, ...rest } = request;
    const claimed = {
      ...(claims?.transport === undefined ? {} : { transport: claims.transport }),
      ...(claims?.agentId === undefined ? {} : { agent_id: claims.agentId }),
    };
    try {
      await this.#freshPolicy();
    } catch (e) {
      // A tampered or rolled-back policy refuses every call; each refusal is on the record.
      const code = toAgentSecretsError(e).code;
      if (code === 'POLICY_ROLLBACK' || code === 'POLICY_SIGNATURE_INVALID') {
        await this.record({
          ...this.#useEvent(transport, [], 'BLOCKED', code),
          agent_id: agentId ?? null,
        }).catch(() => undefined);
      }
      throw e;
    }
    await this.#audit.ready({
      ...this.#useEvent(transport, [...new Set(rest.injections.map((i) => i.key))], 'OK', null),
      agent_id: agentId ?? null,
    });
    let recorded: Promise<void> | undefined;
    const response = await this.#engine.call({
      ...rest,
      onOutcome: (outcome) => {
        recorded = this.record({
          transport,
          agent_id: agentId ?? null,
          method: outcome.method,
          target: outcome.target,
          secret_keys: [...outcome.secretKeys],
          styles: [...outcome.styles],
          status: outcome.status,
          reason: outcome.reason,
          http_status: outcome.httpStatus,
          redacted: outcome.redacted,
          duration_ms: outcome.durationMs,
          ...(Object.keys(claimed).length === 0 ? {} : { claims: claimed }),
        });
        recorded.catch(() => {});
        this.emit('outcome', { ...outcome, transport });
      },
    });
    const ended = new Promise<void>((resolve) => {
      response.body.once('end', resolve);
      response.body.once('close', resolve);
    });
    const settled = ended.then(() => recorded ?? Promise.resolve());
    // A transport that does not look (the proxy) must not turn a failed write into an unhandled rejection: the
    // failure is reported on `audit-error` and the event is owed either way.
    settled.catch(() => {});
    return { ...response, recorded: settled };
  }

  /**
   * The forward proxy's question for `agentsecrets run` before it opens a tunnel or forwards a request without
   * credentials: is the origin of `url` allowlisted, and at which checked addresses may it be dialled (SPEC §7).
   */
  async forwardTarget(url: string): Promise<{ allowlisted: boolean; addresses: string[] }> {
    await this.#freshPolicy();
    return this.#engine.forwardTarget(url);
  }

  /** {@link call}, with the whole body read (up to `maxBytes`, default 50 MiB) for transports that answer at once. */
  async fetch(request: AgentCallRequest & { readonly maxBytes?: number }): Promise<BufferedResponse> {
    const { maxBytes = DEFAULT_MAX_BUFFERED, ...rest } = request;
    const response = await this.call(rest);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        response.body.destroy();
        throw new AgentSecretsError('REQUEST_TOO_LARGE', `the response is larger than ${maxBytes} bytes`, {
          hint: 'use the proxy to stream large responses',
        });
      }
      chunks.push(chunk as Buffer);
    }
    // Fail closed at the end too: an answer whose use could not be recorded is withheld.
    await response.recorded.catch((e: unknown) => {
      throw new AgentSecretsError(
        'AUDIT_IO',
        'the call was sent, but its audit event could not be written, so the answer is withheld',
        { hint: toAgentSecretsError(e).hint ?? 'free disk space in the AgentSecrets home', cause: e },
      );
    });
    return {
      status: response.status,
      headers: response.headers,
      body: Buffer.concat(chunks),
      redacted: response.redactions() > 0,
    };
  }

  /** The project's secrets by name, with their bindings and release marks. Never values. */
  async listSecrets(): Promise<SecretInfo[]> {
    const policy = await this.#freshPolicy();
    const body = this.#policy.body.workspaces[this.workspace.id]?.projects[this.project.id];
    const names = await this.store.list(this.namespace);
    return names.map((name) => ({
      name,
      releasable: policy.releasable.has(name),
      bindings: body?.bindings[name] ?? [],
    }));
  }

  /**
   * Stores a secret in the current project. Returns whether the value is long enough to be redacted from
   * responses (values shorter than 8 characters cannot be, without mangling unrelated text).
   */
  async setSecret(name: string, value: Uint8Array | string): Promise<{ redactable: boolean }> {
    assertSecretName(name);
    await this.store.set(this.namespace, name, value);
    this.#invalidate();
    const length = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
    return { redactable: length >= MIN_REDACTABLE_LENGTH };
  }

  /** Deletes a secret and its policy entries. True when it existed. */
  async deleteSecret(name: string, owner?: OwnerKey): Promise<boolean> {
    const existed = await this.store.delete(this.namespace, assertSecretName(name));
    this.#invalidate();
    if (owner !== undefined) {
      await this.#policy.update(owner, (body) => {
        const p = projectPolicy(body, this.workspace.id, this.project.id);
        delete p.bindings[name];
        p.releasable = p.releasable.filter((n) => n !== name);
      });
    }
    return existed;
  }

  /** True when the project has a secret of that name. */
  hasSecret(name: string): Promise<boolean> {
    return this.store.has(this.namespace, assertSecretName(name));
  }

  /** Owner only: the value itself (for `secrets get`, which prints only to a terminal). Audited. */
  async revealSecret(name: string, _owner: OwnerKey): Promise<SecretValue> {
    const value = await this.store.get(this.namespace, assertSecretName(name));
    await this.record(this.#useEvent('cli', [name], value === undefined ? 'ERROR' : 'OK', 'owner_reveal'));
    if (value === undefined) throw this.#notFound(name);
    return value;
  }

  #notFound(name: string): AgentSecretsError {
    return new AgentSecretsError(
      'SECRET_NOT_FOUND',
      `no secret named ${name} in project ${this.project.name}`,
      {
        hint: 'run `agentsecrets secrets list` to see the names',
      },
    );
  }

  #useEvent(
    transport: Transport,
    keys: string[],
    status: AuditEvent['status'],
    reason: string | null,
  ): AuditEventInput {
    return {
      transport,
      agent_id: null,
      method: null,
      target: null,
      secret_keys: keys,
      styles: [],
      status,
      reason,
      http_status: null,
      redacted: false,
      duration_ms: 0,
    };
  }

  /** Opens the owner key with the passphrase; owner actions take the result. */
  unlockOwner(passphrase: string): Promise<OwnerKey> {
    return unlockOwnerKey(this.#config.owner, passphrase);
  }

  /** The workspace allowlist (canonical entries) and its owner-only changes. */
  readonly allowlist = {
    list: async (): Promise<string[]> => {
      await this.#freshPolicy();
      return [...(this.#policy.body.workspaces[this.workspace.id]?.allowlist ?? [])];
    },
    add: async (entries: readonly string[], owner: OwnerKey): Promise<string[]> => {
      const canonical = canonicalEntries(entries);
      await this.#policy.update(owner, (body) => {
        const ws = workspacePolicy(body, this.workspace.id);
        ws.allowlist = [...new Set([...ws.allowlist, ...canonical])].sort();
      });
      return canonical;
    },
    remove: async (entries: readonly string[], owner: OwnerKey): Promise<string[]> => {
      const canonical = canonicalEntries(entries);
      let removed: string[] = [];
      await this.#policy.update(owner, (body) => {
        const ws = workspacePolicy(body, this.workspace.id);
        removed = ws.allowlist.filter((e) => canonical.includes(e));
        ws.allowlist = ws.allowlist.filter((e) => !canonical.includes(e));
      });
      return removed;
    },
  };

  /** Per-secret destination bindings and their owner-only changes. */
  readonly bindings = {
    list: async (): Promise<Record<string, BindingRecord[]>> => {
      await this.#freshPolicy();
      return structuredClone(
        this.#policy.body.workspaces[this.workspace.id]?.projects[this.project.id]?.bindings ?? {},
      );
    },
    /**
     * Adds a binding `HOST[:PORT][/PATH-PREFIX]` (with methods, empty = any) to a secret, replacing the one for the
     * same destination. `placements` (`query:api_key`, `body:a.b`, `form:f`, `bearer`, `header:X-Key` …) are where it
     * may be injected there; empty, the header styles only.
     */
    add: async (
      name: string,
      destination: string,
      methods: readonly string[],
      owner: OwnerKey,
      placements: readonly string[] = [],
    ) => {
      assertSecretName(name);
      const record = canonicalBinding(destination, methods, placements);
      await this.#policy.update(owner, (body) => {
        const p = projectPolicy(body, this.workspace.id, this.project.id);
        const existing = (p.bindings[name] ?? []).filter((b) => b.destination !== record.destination);
        p.bindings[name] = [...existing, record];
      });
      return record;
    },
    /** Removes every binding of a secret (it may then go to any allowlisted destination). */
    clear: async (name: string, owner: OwnerKey): Promise<void> => {
      await this.#policy.update(owner, (body) => {
        delete projectPolicy(body, this.workspace.id, this.project.id).bindings[assertSecretName(name)];
      });
    },
  };

  /** Owner only: marks a secret releasable to `env`/`exec` (or takes the mark back). Audited. */
  async setReleasable(name: string, on: boolean, owner: OwnerKey): Promise<void> {
    assertSecretName(name);
    if (on && !(await this.store.has(this.namespace, name))) throw this.#notFound(name);
    await this.#policy.update(owner, (body) => {
      const p = projectPolicy(body, this.workspace.id, this.project.id);
      const rest = p.releasable.filter((n) => n !== name);
      p.releasable = on ? [...rest, name].sort() : rest;
    });
    await this.record(this.#useEvent('cli', [name], 'OK', on ? 'release_on' : 'release_off'));
  }

  /**
   * Hands values to another process (`env`, `exec`): only secrets the owner marked releasable; others come back in
   * `errors` as NOT_RELEASABLE. With no names, every releasable secret. Audited by key name.
   */
  async release(names: readonly string[] | undefined, transport: 'env' | 'exec'): Promise<Release> {
    const policy = await this.#freshPolicy();
    const available = await this.store.list(this.namespace);
    const wanted = names ?? available.filter((n) => policy.releasable.has(n));
    const values = new Map<string, SecretValue>();
    const errors = new Map<string, AgentSecretsError>();
    for (const name of wanted) {
      if (!available.includes(name)) {
        errors.set(name, this.#notFound(name));
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
        const value = await this.store.get(this.namespace, name);
        if (value === undefined) errors.set(name, this.#notFound(name));
        else values.set(name, value);
      }
    }
    const status = errors.size === 0 ? 'OK' : values.size === 0 ? 'BLOCKED' : 'ERROR';
    await this.record(
      this.#useEvent(
        transport,
        [...wanted],
        status,
        errors.size === 0 ? null : [...new Set([...errors.values()].map((e) => e.code))].join(','),
      ),
    );
    return { values, errors };
  }

  /** A redactor for every secret of the project: what masks a child's output in `env`. */
  async redactor(): Promise<Redactor> {
    return (await this.#loadSnapshot(true)).redactor;
  }

  /** Backend, workspace, project and policy sizes. */
  async status(): Promise<StatusInfo> {
    const policy = await this.#freshPolicy();
    const proxy = await readProxyState(this.paths);
    return {
      home: this.paths.home,
      backend: this.store.backend,
      workspace: { id: this.workspace.id, name: this.workspace.name, kind: this.workspace.kind },
      project: this.project,
      secrets: (await this.store.list(this.namespace)).length,
      allowlist: policy.allowlist.length,
      auditLog: this.paths.audit,
      lastSync: (await this.team.state().catch(() => undefined))?.lastSync ?? null,
      proxy:
        proxy === undefined
          ? null
          : {
              pid: proxy.pid,
              url: `http://${proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host}:${proxy.port}`,
              auth: proxy.token !== null,
            },
    };
  }

  /** The audit log of this home (append goes through {@link record}). */
  get auditPath(): string {
    return this.paths.audit;
  }

  /** Projects of the current workspace. */
  readonly projects = {
    list: (): ProjectRef[] => [...this.workspace.projects],
    create: async (name: string): Promise<ProjectRef> => {
      assertName('project', name);
      if (this.workspace.projects.some((p) => p.name === name)) {
        throw new AgentSecretsError('INVALID_ARGUMENT', `project ${name} already exists`, {
          hint: `use it with \`agentsecrets project use ${name}\``,
        });
      }
      const project = { id: randomId('prj'), name };
      await this.#saveConfig((c) => {
        c.workspaces.find((w) => w.id === this.workspace.id)?.projects.push(project);
      });
      this.workspace.projects.push(project);
      return project;
    },
    use: async (name: string): Promise<ProjectRef> => {
      const project = this.#findProject(name);
      await this.#saveConfig((c) => {
        c.currentProject = project.id;
      });
      return project;
    },
    delete: async (name: string, owner: OwnerKey): Promise<void> => {
      const project = this.#findProject(name);
      const ns = { workspace: this.workspace.id, project: project.id };
      for (const key of await this.store.list(ns)) await this.store.delete(ns, key);
      await this.#policy.update(owner, (body) => {
        delete workspacePolicy(body, this.workspace.id).projects[project.id];
      });
      await this.#saveConfig((c) => {
        const ws = c.workspaces.find((w) => w.id === this.workspace.id);
        if (ws !== undefined) ws.projects = ws.projects.filter((p) => p.id !== project.id);
        if (c.currentProject === project.id) delete c.currentProject;
      });
      this.workspace.projects.splice(this.workspace.projects.indexOf(project), 1);
    },
  };

  #findProject(nameOrId: string): ProjectRef {
    const project = this.workspace.projects.find((p) => p.name === nameOrId || p.id === nameOrId);
    if (project === undefined) {
      throw new AgentSecretsError(
        'PROJECT_NOT_FOUND',
        `no project named ${nameOrId.slice(0, 64)} in this workspace`,
        {
          hint: 'run `agentsecrets project list` to see the projects',
        },
      );
    }
    return project;
  }

  async #saveConfig(mutate: (config: Config) => void): Promise<void> {
    const latest = (await readJsonFile(this.paths.config, ConfigSchema)) ?? this.#config;
    mutate(latest);
    await writeJsonFile(this.paths.config, ConfigSchema.parse(latest));
  }

  /**
   * Waits for pending audit writes (denial summaries and events still owed included; a failure is reported on
   * `audit-error`) and closes pooled connections. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#inflight])
      .then(() =>
        this.#audit.close().catch((e: unknown) => {
          if (this.listenerCount('audit-error') > 0) this.emit('audit-error', toAgentSecretsError(e));
        }),
      )
      .then(() => this.#engine.close());
    return this.#closing;
  }
}

/** Loads config.json or explains that `init` has not been run. */
export async function loadConfig(paths: HomePaths): Promise<Config> {
  const config = await readJsonFile(paths.config, ConfigSchema);
  if (config === undefined) {
    throw new AgentSecretsError('PROJECT_NOT_FOUND', `AgentSecrets is not set up in ${paths.home}`, {
      hint: 'run `agentsecrets init` first',
    });
  }
  return config;
}

/**
 * Opens AgentSecrets for the current directory: loads `$AGENTSECRETS_HOME/config.json` and the project link, opens
 * the store, the signed policy, the audit log and the engine.
 */
export async function createAgentSecrets(options: AgentSecretsOptions = {}): Promise<AgentSecrets> {
  const env = options.env ?? process.env;
  const paths = resolveHome(env, options.home);
  const config = await loadConfig(paths);
  const link = await findProjectLink(options.cwd ?? process.cwd());
  const workspaceId = link?.workspace.id ?? config.currentWorkspace;
  const workspace = config.workspaces.find((w) => w.id === workspaceId);
  if (workspace === undefined) {
    throw new AgentSecretsError('PROJECT_NOT_FOUND', 'the linked workspace is not in this home', {
      hint: 'run `agentsecrets init` in the project directory, or set AGENTSECRETS_HOME to the home that created it',
    });
  }
  const wanted = options.project ?? link?.project.id ?? config.currentProject;
  const project =
    workspace.projects.find((p) => p.id === wanted || p.name === wanted) ??
    (wanted === undefined ? workspace.projects[0] : undefined);
  if (project === undefined) {
    throw new AgentSecretsError('PROJECT_NOT_FOUND', 'no project is linked to this directory', {
      hint: 'run `agentsecrets init` here, or `agentsecrets project use NAME`',
    });
  }
  const backend = (env.AGENTSECRETS_KEYCHAIN as BackendName | undefined) || config.keychain;
  const store =
    options.store ??
    (await openSecretStore({
      home: paths.home,
      env,
      ...(backend === undefined ? {} : { backend }),
      ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    }));
  return new AgentSecrets({ paths, config, store, workspace, project, options });
}
