import { ENVIRONMENT, ID, SECRET_NAME } from '@agentsecrets/sync';
import { z } from 'zod';
import type { Db } from '../db/db.js';
import { SyncRefusal } from '../errors.js';
import { roleOf } from '../store/members.js';
import { lockWorkspace } from '../store/workspaces.js';

// Who may touch a workspace, the path parameters that name one, and its row lock.

// A push or a rotation carries every secret in one request, so that it is applied all or nothing.
export const BULK_BODY_LIMIT = 32 * 1024 * 1024;

/** `:ws`. */
export const WorkspaceParams = z.object({ ws: ID });
/** `:ws/secrets/:project/:env`. */
export const PlaceParams = z.object({ ws: ID, project: ID, env: ENVIRONMENT });
/** `:ws/secrets/:project/:env/:name`. */
export const SecretParams = PlaceParams.extend({ name: SECRET_NAME });

/** The caller's role; WORKSPACE_NOT_FOUND when they are not a member (no workspace is revealed to strangers). */
export async function requireMember(db: Db, workspaceId: string, userId: string): Promise<string> {
  const role = await roleOf(db, workspaceId, userId);
  if (role === undefined) throw new SyncRefusal('WORKSPACE_NOT_FOUND', 'no such workspace');
  return role;
}

/** REQUEST_REFUSED unless the caller is an admin of the workspace. */
export async function requireAdmin(db: Db, workspaceId: string, userId: string): Promise<void> {
  if ((await requireMember(db, workspaceId, userId)) !== 'admin') {
    throw new SyncRefusal('REQUEST_REFUSED', 'only an admin of the workspace can do that');
  }
}

/**
 * Takes the workspace's row lock and reads its key state: roster changes, rotations and pushes of one workspace
 * apply one at a time, on one instance or several.
 */
export async function lockedWorkspace(tx: Db, workspaceId: string) {
  const state = await lockWorkspace(tx, workspaceId);
  if (state === undefined) throw new SyncRefusal('WORKSPACE_NOT_FOUND', 'no such workspace');
  return state;
}
