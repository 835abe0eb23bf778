import type { Db } from './db/db.js';

/** What a group of routes needs from the server: the database and authentication, decided once. */
export interface RouteContext {
  readonly db: Db;
  /** The user id of a request's live access token; 401 otherwise (expired, forged, or its session ended). */
  authenticate(req: { headers: { authorization?: string | undefined } }): Promise<string>;
  /** The caller's membership of a workspace; 404 when there is none (no workspace is revealed to strangers). */
  membership(workspaceId: string, userId: string): Promise<{ role: string; key_version: number }>;
  /** 403 unless the caller is an admin of the workspace. */
  requireAdmin(workspaceId: string, userId: string): Promise<void>;
}
