import type { z } from 'zod';
import type { UserKeys } from './keys.js';
import type { VerifiedRoster } from './roster.js';
import type { WorkspaceEntrySchema } from './wire.js';

/** A logged-in user: tokens and the unlocked key pairs (kept by the caller in its vault, never in a plain file). */
export interface SyncSession {
  readonly userId: string;
  readonly email: string;
  accessToken: string;
  refreshToken: string;
  readonly userKeys: UserKeys;
}

/**
 * A workspace as the client sees it once verified: its key opened from a grant an admin signed, and our role as the
 * signed roster says (not as the server says).
 */
export interface SyncWorkspace {
  readonly id: string;
  readonly name: string;
  readonly role: 'admin' | 'member';
  /** The version of the key held (`key`). */
  readonly keyVersion: number;
  /** The signed roster asks for a newer key (a member was removed): nothing may be encrypted until it is rotated. */
  readonly rotationPending: boolean;
  readonly key: Buffer;
}

/** A workspace entry as the server lists it, before anything in it is verified. */
export type WorkspaceEntry = z.infer<typeof WorkspaceEntrySchema>;

/** An invite of a workspace as an admin sees it: the invitee's keys once they accepted (unverified). */
export interface Invite {
  readonly id: string;
  readonly email: string;
  readonly status: string;
  readonly userId: string | null;
  readonly boxPublicKey: string | null;
  readonly signingPublicKey: string | null;
  /** The fingerprint of the keys the server presents: compare it with what the invitee reads out. */
  readonly fingerprint: string | null;
}

/** A verified workspace, its verified roster, and whether the server claimed a rotation the roster does not ask for. */
export interface OpenedWorkspace {
  readonly workspace: SyncWorkspace;
  readonly roster: VerifiedRoster;
  readonly serverClaimsRotation: boolean;
}

/** A remote secret, decrypted. */
export interface PulledSecret {
  readonly name: string;
  readonly version: number;
  readonly value: Buffer;
}

/** Where a project's secrets live on the server. */
export interface SyncLocation {
  readonly workspace: SyncWorkspace;
  readonly projectId: string;
  readonly environment: string;
}

/** What a push answers: every value applied at its new version, or nothing written and the names that moved. */
export type PushOutcome =
  | { pushed: { name: string; version: number }[] }
  | { conflicts: { name: string; current: number }[] };
