import { stat } from 'node:fs/promises';
import { verify } from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import { readJsonFile, StampedCache, withFileLock, writeFileAtomic } from '@agentsecrets/fs';
import {
  type AllowlistEntry,
  type Binding,
  canonicalPlacements,
  formatAllowlistEntry,
  formatBinding,
  parseAllowlistEntry,
  parseBinding,
  parsePlacement,
} from '@agentsecrets/injection';
import { SECRET_NAME_PATTERN } from '@agentsecrets/names';
import { z } from 'zod';
import type { PolicyAnchor, VaultRecord } from './anchor.js';
import type { OwnerKey } from './owner.js';

// `inject` names where the secret may be written there (`query:api_key`, `body:a.b`, …); absent, the header styles.
// Records written before it existed have no `inject` and are read (and verify) exactly as before.
const BindingRecordSchema = z
  .object({
    destination: z.string().max(512),
    methods: z.array(z.string().regex(/^[A-Z]{1,16}$/)),
    inject: z.array(z.string().max(300)).min(1).max(32).optional(),
  })
  .strict();
const ProjectPolicySchema = z
  .object({
    bindings: z.record(z.string().regex(SECRET_NAME_PATTERN), z.array(BindingRecordSchema)),
    releasable: z.array(z.string().regex(SECRET_NAME_PATTERN)),
  })
  .strict();
const WorkspacePolicySchema = z
  .object({ allowlist: z.array(z.string().max(300)), projects: z.record(z.string(), ProjectPolicySchema) })
  .strict();
const PolicyBodySchema = z
  .object({
    version: z.literal(1),
    serial: z.number().int().nonnegative(),
    updatedAt: z.string(),
    workspaces: z.record(z.string(), WorkspacePolicySchema),
  })
  .strict();
const PolicyFileSchema = z
  .object({ body: PolicyBodySchema, publicKey: z.string(), signature: z.string() })
  .strict();

/** The signed policy: per workspace an allowlist, per project bindings and release marks. */
export type PolicyBody = z.infer<typeof PolicyBodySchema>;
type ProjectPolicy = z.infer<typeof ProjectPolicySchema>;
type WorkspacePolicy = z.infer<typeof WorkspacePolicySchema>;

/**
 * A per-secret binding as stored: `HOST[:PORT][/PATH-PREFIX]`, methods (empty = any) and the places the secret may be
 * injected into there (absent = the header styles).
 */
export type BindingRecord = z.infer<typeof BindingRecordSchema>;

const SIGNING_CONTEXT = 'agentsecrets-policy-v1\n';

/** How often a long-running process looks for a policy change on disk, in ms. */
export const RECHECK_MS = 200;

/** JSON with object keys sorted at every level: the exact bytes that are signed. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function emptyBody(): PolicyBody {
  return { version: 1, serial: 0, updatedAt: new Date(0).toISOString(), workspaces: {} };
}

function signatureError(path: string, why: string): AgentSecretsError {
  return new AgentSecretsError('POLICY_SIGNATURE_INVALID', `the policy in ${path} ${why}`, {
    hint: 'policy changes go through `agentsecrets allowlist|secrets bind|secrets release` with the owner passphrase; restore the file or run those again',
  });
}

function rollbackError(path: string, serial: number, newest: number): AgentSecretsError {
  return new AgentSecretsError(
    'POLICY_ROLLBACK',
    `the policy in ${path} is older (serial ${serial}) than one already in force (serial ${newest})`,
    {
      hint: 'an older copy was restored or the file removed; restore the newest one, or have the owner run `agentsecrets allowlist …` to sign a new one',
    },
  );
}

/** What the engine reads for one workspace and project, parsed once per policy change. */
export interface EffectivePolicy {
  readonly allowlist: readonly AllowlistEntry[];
  readonly bindings: ReadonlyMap<string, readonly Binding[]>;
  readonly releasable: ReadonlySet<string>;
}

/**
 * The owner-signed policy file. Every read verifies the Ed25519 signature against the owner's public key from
 * config.json, so a hand-edited policy (wider allowlist, new bindings, a secret marked releasable) is refused as a
 * whole rather than partly trusted. A missing file is the empty policy: nothing is allowed.
 */
export class PolicyStore {
  readonly #path: string;
  readonly #publicKey: string;
  readonly #anchor: VaultRecord<PolicyAnchor> | undefined;
  /** The newest serial this process has accepted: a rollback is refused even if the vault was restored too. */
  #highWater = 0;
  #body: PolicyBody = emptyBody();
  readonly #file: StampedCache<PolicyBody>;
  #effective = new Map<string, EffectivePolicy>();

  /**
   * `anchor` (the vault) keeps the owner key and the newest serial: without it only signatures are checked. Owner
   * changes are read-modify-write under `<path>.lock`, so concurrent edits never lose one another.
   */
  constructor(path: string, ownerPublicKey: string, anchor?: VaultRecord<PolicyAnchor>) {
    this.#path = path;
    this.#publicKey = ownerPublicKey;
    this.#anchor = anchor;
    this.#file = new StampedCache(path, RECHECK_MS);
  }

  #lock<T>(body: (assertHeld: () => Promise<void>) => Promise<T>): Promise<T> {
    return withFileLock(`${this.#path}.lock`, { timeoutMs: 30_000 }, body);
  }

  /**
   * Checks a verified body against the vault's anchor: signed with the owner key the vault knows, and not older
   * than the newest serial in force (POLICY_ROLLBACK). A missing anchor (a home from before anchors) is created from
   * what is there now; a newer serial (an owner edit) advances it.
   */
  async #checkAnchor(body: PolicyBody): Promise<void> {
    if (this.#anchor === undefined) return;
    let anchor = await this.#anchor.get();
    if (anchor === undefined || body.serial > anchor.serial) {
      anchor = await this.#lock(async () => {
        const now = await this.#anchor!.get();
        if (now !== undefined && (now.ownerPublicKey !== this.#publicKey || now.serial >= body.serial))
          return now;
        const next = { version: 1 as const, ownerPublicKey: this.#publicKey, serial: body.serial };
        await this.#anchor!.set(next);
        return next;
      });
    }
    if (anchor.ownerPublicKey !== this.#publicKey) {
      throw signatureError(
        this.#path,
        'is checked against an owner key this vault was not set up with (was config.json replaced?)',
      );
    }
    const newest = Math.max(anchor.serial, this.#highWater);
    if (body.serial < newest) throw rollbackError(this.#path, body.serial, newest);
    this.#highWater = body.serial;
  }

  /**
   * Re-reads the file when it changed on disk, so a running proxy sees new policy. The file is looked at (one stat)
   * at most every {@link RECHECK_MS} ms: a policy change applies to calls starting after that.
   */
  async refresh(): Promise<void> {
    // A policy that fails to verify is not kept, so it keeps failing: the file is read again on the next call.
    const body = await this.#file.get(async () => {
      const read = await this.#read();
      await this.#checkAnchor(read);
      return read;
    });
    this.#adopt(body);
  }

  /** {@link refresh} without waiting, while the file was looked at recently; false when a look is due. */
  refreshNow(): boolean {
    const body = this.#file.current();
    if (body === undefined) return false;
    this.#adopt(body);
    return true;
  }

  #adopt(body: PolicyBody): void {
    if (body === this.#body) return;
    this.#body = body;
    this.#effective.clear();
  }

  /** The policy file with its signature checked, not its anchor: for display where the vault is not open. */
  peek(): Promise<PolicyBody> {
    return this.#read();
  }

  async #read(): Promise<PolicyBody> {
    const file = await readJsonFile(this.#path, PolicyFileSchema);
    if (file === undefined) return emptyBody();
    if (file.publicKey !== this.#publicKey)
      throw signatureError(this.#path, 'is signed by a key that is not the owner key');
    const ok = verify(
      SIGNING_CONTEXT + canonicalJson(file.body),
      Buffer.from(file.signature, 'base64'),
      Buffer.from(this.#publicKey, 'base64'),
    );
    if (!ok) throw signatureError(this.#path, 'does not match its signature (was it edited by hand?)');
    return file.body;
  }

  /** The current body (after {@link refresh}). */
  get body(): PolicyBody {
    return this.#body;
  }

  /** The parsed policy for one workspace and project. */
  effective(workspaceId: string, projectId: string): EffectivePolicy {
    const cacheKey = `${workspaceId}/${projectId}`;
    const cached = this.#effective.get(cacheKey);
    if (cached !== undefined) return cached;
    const ws = this.#body.workspaces[workspaceId];
    const project = ws?.projects[projectId];
    const effective: EffectivePolicy = {
      allowlist: (ws?.allowlist ?? []).map((text) => parseAllowlistEntry(text)),
      bindings: new Map(
        Object.entries(project?.bindings ?? {}).map(([key, records]) => [
          key,
          records.map((r) => parseBinding(r.destination, r.methods, (r.inject ?? []).map(parsePlacement))),
        ]),
      ),
      releasable: new Set(project?.releasable ?? []),
    };
    this.#effective.set(cacheKey, effective);
    return effective;
  }

  /**
   * Changes the policy under the policy lock: re-reads and verifies the latest file, applies `mutate`, bumps the
   * serial, signs with the owner key, writes atomically and advances the vault's anchor — so two owner edits at the
   * same moment both land. An older file than the anchor is refused (restore it); a removed one starts anew.
   */
  async update(owner: OwnerKey, mutate: (body: PolicyBody) => void): Promise<PolicyBody> {
    if (owner.publicKey !== this.#publicKey) {
      throw signatureError(this.#path, 'would be signed by a key that is not the owner key');
    }
    const parsed = await this.#lock(async (assertHeld) => {
      const anchor = await this.#anchor?.get();
      if (anchor !== undefined && anchor.ownerPublicKey !== this.#publicKey) {
        throw signatureError(this.#path, 'would be signed by an owner key this vault was not set up with');
      }
      const newest = Math.max(anchor?.serial ?? 0, this.#highWater);
      const exists = await stat(this.#path).then(
        () => true,
        () => false,
      );
      const body = structuredClone(exists ? await this.#read() : { ...emptyBody(), serial: newest });
      if (body.serial < newest) throw rollbackError(this.#path, body.serial, newest);
      mutate(body);
      body.serial += 1;
      body.updatedAt = new Date().toISOString();
      const next = PolicyBodySchema.parse(body);
      const signature = owner.sign(SIGNING_CONTEXT + canonicalJson(next));
      const file = { body: next, publicKey: this.#publicKey, signature };
      await writeFileAtomic(this.#path, `${JSON.stringify(file, null, 2)}\n`, { beforeRename: assertHeld });
      await this.#anchor?.set({ version: 1, ownerPublicKey: this.#publicKey, serial: next.serial });
      this.#highWater = Math.max(this.#highWater, next.serial);
      return next;
    });
    this.#file.invalidate();
    await this.refresh();
    return parsed;
  }
}

/** The workspace part of a body, created when missing. */
export function workspacePolicy(body: PolicyBody, workspaceId: string): WorkspacePolicy {
  body.workspaces[workspaceId] ??= { allowlist: [], projects: {} };
  return body.workspaces[workspaceId];
}

/** The project part of a body, created when missing. */
export function projectPolicy(body: PolicyBody, workspaceId: string, projectId: string): ProjectPolicy {
  const ws = workspacePolicy(body, workspaceId);
  ws.projects[projectId] ??= { bindings: {}, releasable: [] };
  return ws.projects[projectId];
}

/** Canonical text of allowlist entries (so `API.x.com.` and `api.x.com` are one entry). */
export function canonicalEntries(texts: readonly string[]): string[] {
  return texts.map((t) => formatAllowlistEntry(parseAllowlistEntry(t)));
}

/** Canonical binding record for `HOST[:PORT][/PATH]`, methods and placements (`query:api_key`, …; empty = headers). */
export function canonicalBinding(
  destination: string,
  methods: readonly string[] = [],
  placements: readonly string[] = [],
): BindingRecord {
  const upper = methods.map((m) => m.toUpperCase());
  const binding = parseBinding(destination, upper);
  const inject = canonicalPlacements(placements);
  const record = { destination: formatBinding(binding), methods: [...new Set(upper)].sort() };
  return inject.length === 0 ? record : { ...record, inject };
}
