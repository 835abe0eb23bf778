import { AgentSecretsError } from '@agentsecrets/errors';
import { z } from 'zod';

const ID = /^[a-z]{2,4}_[A-Za-z0-9_-]{8,64}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A project: where a set of secrets and their bindings live. Ids are stable; names are for people. */
export const ProjectRefSchema = z.object({ id: z.string().regex(ID), name: z.string().regex(NAME) }).strict();
/** A project reference: id and name. */
export type ProjectRef = z.infer<typeof ProjectRefSchema>;

/**
 * A workspace: a set of projects sharing one allowlist. Local mode has one `personal` workspace; team sync adds
 * `team` ones with the same shape.
 */
export const WorkspaceSchema = z
  .object({
    id: z.string().regex(ID),
    name: z.string().regex(NAME),
    kind: z.enum(['personal', 'team']),
    projects: z.array(ProjectRefSchema),
  })
  .strict();
/** A workspace and its projects. */
export type Workspace = z.infer<typeof WorkspaceSchema>;

const KdfSchema = z
  .object({ memoryKiB: z.number().int(), iterations: z.number().int(), parallelism: z.number().int() })
  .strict();

/** The owner's signing key: public key in the clear, private key sealed under the owner passphrase. */
export const OwnerRecordSchema = z
  .object({
    publicKey: z.string().regex(BASE64),
    sealedPrivateKey: z.string().regex(BASE64),
    salt: z.string().regex(BASE64),
    kdf: KdfSchema,
  })
  .strict();
/** The stored owner key record. */
export type OwnerRecord = z.infer<typeof OwnerRecordSchema>;

/** `$AGENTSECRETS_HOME/config.json`: no secret values, no decrypted keys. */
export const ConfigSchema = z
  .object({
    version: z.literal(1),
    keychain: z.enum(['os', 'file', 'memory']).optional(),
    currentWorkspace: z.string().regex(ID),
    currentProject: z.string().regex(ID).optional(),
    workspaces: z.array(WorkspaceSchema).min(1),
    owner: OwnerRecordSchema,
  })
  .strict();
/** The global configuration. */
export type Config = z.infer<typeof ConfigSchema>;

/** `.agentsecrets/project.json` in a project directory: ids and names only, safe to commit. */
export const ProjectLinkSchema = z
  .object({ version: z.literal(1), workspace: ProjectRefSchema, project: ProjectRefSchema })
  .strict();
/** The project link file's content. */
export type ProjectLink = z.infer<typeof ProjectLinkSchema>;

/** Checks a workspace or project name. */
export function assertName(kind: 'project' | 'workspace', name: string): string {
  if (!NAME.test(name)) {
    throw new AgentSecretsError('INVALID_ARGUMENT', `"${name.slice(0, 64)}" is not a valid ${kind} name`, {
      hint: 'use letters, digits, . _ - (at most 64, starting with a letter or digit)',
    });
  }
  return name;
}

/** Turns a directory name into a valid project name (`My App!` → `My-App`). */
export function projectNameFrom(dir: string): string {
  const cleaned = dir
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return cleaned === '' ? 'default' : cleaned;
}
