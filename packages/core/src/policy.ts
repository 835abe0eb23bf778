import { stat } from 'node:fs/promises';
import { verify } from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
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
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from './home.js';
import type { OwnerKey } from './owner.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

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
    bindings: z.record(z.string().regex(KEY), z.array(BindingRecordSchema)),
    releasable: z.array(z.string().regex(KEY)),
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
  #body: PolicyBody = emptyBody();
  #stamp = '';
  #checkedAt = 0;
  #effective = new Map<string, EffectivePolicy>();

  constructor(path: string, ownerPublicKey: string) {
    this.#path = path;
    this.#publicKey = ownerPublicKey;
  }

  /**
   * Re-reads the file when it changed on disk, so a running proxy sees new policy. The file is looked at (one stat)
   * at most every {@link RECHECK_MS} ms: a policy change applies to calls starting after that.
   */
  async refresh(): Promise<void> {
    const now = performance.now();
    if (this.#stamp !== '' && now - this.#checkedAt < RECHECK_MS) return;
    this.#checkedAt = now;
    let stamp: string;
    try {
      const s = await stat(this.#path);
      stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      stamp = 'missing';
    }
    if (stamp === this.#stamp) return;
    try {
      this.#body = await this.#read();
    } catch (e) {
      // A policy that fails to verify keeps failing: look at the file again on the next call.
      this.#checkedAt = 0;
      throw e;
    }
    this.#stamp = stamp;
    this.#effective.clear();
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
   * Changes the policy: re-reads and verifies the latest file, applies `mutate`, bumps the serial, signs with the
   * owner key and writes atomically.
   */
  async update(owner: OwnerKey, mutate: (body: PolicyBody) => void): Promise<PolicyBody> {
    if (owner.publicKey !== this.#publicKey) {
      throw signatureError(this.#path, 'would be signed by a key that is not the owner key');
    }
    this.#stamp = '';
    const body = structuredClone(await this.#read());
    mutate(body);
    body.serial += 1;
    body.updatedAt = new Date().toISOString();
    const parsed = PolicyBodySchema.parse(body);
    const signature = owner.sign(SIGNING_CONTEXT + canonicalJson(parsed));
    await writeJsonFile(this.#path, { body: parsed, publicKey: this.#publicKey, signature });
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
