import { AgentSecretsError } from '@agentsecrets/errors';
import type { Namespace, SecretStore } from '@agentsecrets/keychain';
import { z } from 'zod';

// What decides which policy applies is kept in the vault, not in files: a process of the user that has neither the
// owner passphrase nor the vault can rewrite config.json, policy.json or sync.json, but not these records. (A
// process with the vault — the OS keychain's API, or the file vault's key — could; see docs/security.md.)

const POLICY_NS: Namespace = { workspace: 'agentsecrets-policy', project: 'anchor' };
const POLICY_KEY = 'LOCAL';
const TEAM_NS: Namespace = { workspace: 'agentsecrets-sync', project: 'trust' };
const TEAM_KEY = 'TEAM';

const PolicyAnchorSchema = z
  .object({
    version: z.literal(1),
    /** The owner key the local policy must be signed with (config.json could be replaced; this cannot). */
    ownerPublicKey: z.string().max(200),
    /** The newest serial of policy.json ever written or accepted: an older one is a rollback. */
    serial: z.number().int().nonnegative(),
  })
  .strict();
/** The local policy's anchor. */
export type PolicyAnchor = z.infer<typeof PolicyAnchorSchema>;

const WorkspaceTrustSchema = z
  .object({
    /** Roster pin: the first version's hash, and the newest version verified. */
    genesis: z.string().regex(/^[0-9a-f]{64}$/),
    serial: z.number().int().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    /** Signing keys of the admins in the newest verified roster: who may sign a newer team policy. */
    admins: z.array(z.string().max(200)).max(10_000),
    /** The newest team policy accepted (verified against `admins` when it was accepted), or null. */
    policy: z.unknown().nullable(),
  })
  .strict();
/** What this machine trusts of one team workspace. */
export type WorkspaceTrust = z.infer<typeof WorkspaceTrustSchema>;

const TeamTrustSchema = z
  .object({
    version: z.literal(1),
    /** Set by `login`/`signup`, owner actions: team policy applies only where the owner set sync up. */
    server: z.string().max(2048),
    userId: z.string().max(100),
    email: z.string().max(254),
    /** The workspace whose policy applies (chosen by `workspace create|switch`, owner actions). */
    current: z.string().max(100).nullable(),
    workspaces: z.record(z.string().max(100), WorkspaceTrustSchema),
  })
  .strict();
/** Team sync as the owner set it up on this machine: server, account, selected workspace, pinned rosters. */
export type TeamTrust = z.infer<typeof TeamTrustSchema>;

async function read<T>(store: SecretStore, ns: Namespace, key: string, schema: z.ZodType<T>, what: string) {
  const raw = await store.get(ns, key);
  if (raw === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(raw.text());
  } catch {
    data = undefined;
  } finally {
    raw.dispose();
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new AgentSecretsError('VAULT_CORRUPT', `the ${what} kept in the vault is damaged`, {
      hint: 'nothing that depends on it is applied; run `agentsecrets init` (local policy) or `agentsecrets login` (team sync) again',
    });
  }
  return parsed.data;
}

/** Reads and writes one vault record. */
export interface VaultRecord<T> {
  get(): Promise<T | undefined>;
  set(value: T): Promise<void>;
}

/** The local policy's anchor in `store`. */
export function policyAnchor(store: SecretStore): VaultRecord<PolicyAnchor> {
  return {
    get: () => read(store, POLICY_NS, POLICY_KEY, PolicyAnchorSchema, 'policy anchor'),
    set: (a) => store.set(POLICY_NS, POLICY_KEY, JSON.stringify(PolicyAnchorSchema.parse(a))),
  };
}

/** The team trust record in `store`. */
export function teamTrust(store: SecretStore): VaultRecord<TeamTrust> & { delete(): Promise<void> } {
  return {
    get: () => read(store, TEAM_NS, TEAM_KEY, TeamTrustSchema, 'team sync trust record'),
    set: (t) => store.set(TEAM_NS, TEAM_KEY, JSON.stringify(TeamTrustSchema.parse(t))),
    delete: async () => {
      await store.delete(TEAM_NS, TEAM_KEY);
    },
  };
}
