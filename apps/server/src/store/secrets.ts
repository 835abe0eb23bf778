import type { SecretVersionSchema, WorkspaceSecretSchema } from '@agentsecrets/sync';
import type { z } from 'zod';
import type { Db } from '../db/db.js';

// Versioned ciphertext: one row per version of a secret of a project's environment.

/** A project's environment within a workspace. */
export interface Place {
  readonly workspaceId: string;
  readonly projectId: string;
  readonly environment: string;
}

/** `AND …` narrowing a query over a workspace's secrets to one place, with its parameters after the workspace's. */
function within(place: Place | undefined, alias = ''): { sql: string; params: string[] } {
  return place === undefined
    ? { sql: '', params: [] }
    : {
        sql: ` AND ${alias}project_id = $2 AND ${alias}environment = $3`,
        params: [place.projectId, place.environment],
      };
}

/** The latest version of every secret of a workspace, or of one place in it, by project, environment and name. */
export async function latestSecrets(
  db: Db,
  workspaceId: string,
  place?: Place,
): Promise<z.input<typeof WorkspaceSecretSchema>[]> {
  const where = within(place, 's.');
  const rows = await db.query<{
    project_id: string;
    environment: string;
    name: string;
    version: number;
    ciphertext: string;
    key_version: number;
  }>(
    `SELECT s.project_id, s.environment, s.name, s.version, s.ciphertext, s.key_version FROM secrets s
       WHERE s.workspace_id = $1${where.sql}
         AND s.version = (SELECT MAX(version) FROM secrets t WHERE t.workspace_id = s.workspace_id
           AND t.project_id = s.project_id AND t.environment = s.environment AND t.name = s.name)
       ORDER BY s.project_id, s.environment, s.name`,
    [workspaceId, ...where.params],
  );
  return rows.map((r) => ({
    projectId: r.project_id,
    environment: r.environment,
    name: r.name,
    version: Number(r.version),
    ciphertext: r.ciphertext,
    keyVersion: Number(r.key_version),
  }));
}

/** The latest version number of every secret of a workspace, or of one place, keyed `project/environment/name`. */
export async function latestVersions(
  tx: Db,
  workspaceId: string,
  place?: Place,
): Promise<Map<string, number>> {
  const where = within(place);
  const rows = await tx.query<{ project_id: string; environment: string; name: string; v: number }>(
    `SELECT project_id, environment, name, MAX(version) AS v FROM secrets WHERE workspace_id = $1${where.sql}
       GROUP BY project_id, environment, name`,
    [workspaceId, ...where.params],
  );
  return new Map(rows.map((r) => [secretKey(r.project_id, r.environment, r.name), Number(r.v)]));
}

/** The key of a secret in {@link latestVersions}. */
export const secretKey = (projectId: string, environment: string, name: string) =>
  `${projectId}/${environment}/${name}`;

/** Stores one version of a secret. */
export async function insertSecret(
  tx: Db,
  place: Place,
  secret: {
    name: string;
    version: number;
    ciphertext: string;
    keyVersion: number;
    author: string;
    at: number;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO secrets (workspace_id, project_id, environment, name, version, ciphertext, key_version, author, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      place.workspaceId,
      place.projectId,
      place.environment,
      secret.name,
      secret.version,
      secret.ciphertext,
      secret.keyVersion,
      secret.author,
      secret.at,
    ],
  );
}

/** Drops the versions of a secret up to `version`. */
export async function pruneVersions(tx: Db, place: Place, name: string, version: number): Promise<void> {
  await tx.query(
    'DELETE FROM secrets WHERE workspace_id = $1 AND project_id = $2 AND environment = $3 AND name = $4 AND version <= $5',
    [place.workspaceId, place.projectId, place.environment, name, version],
  );
}

/** Every kept version of a secret, newest first. */
export async function versionsOf(
  db: Db,
  place: Place,
  name: string,
): Promise<z.input<typeof SecretVersionSchema>[]> {
  const rows = await db.query<{
    version: number;
    ciphertext: string;
    key_version: number;
    created_at: number;
  }>(
    `SELECT version, ciphertext, key_version, created_at FROM secrets
       WHERE workspace_id = $1 AND project_id = $2 AND environment = $3 AND name = $4 ORDER BY version DESC`,
    [place.workspaceId, place.projectId, place.environment, name],
  );
  return rows.map((r) => ({
    version: Number(r.version),
    ciphertext: r.ciphertext,
    keyVersion: Number(r.key_version),
    createdAt: Number(r.created_at),
  }));
}
