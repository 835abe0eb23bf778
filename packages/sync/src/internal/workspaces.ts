import { randomId } from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import { z } from 'zod';
import { createWorkspaceKey, openWorkspaceKey, sealWorkspaceKey } from '../keys.js';
import {
  type RosterMember,
  type RosterPin,
  rosterMember,
  type SignedRoster,
  signGrant,
  signRoster,
  verifyGrant,
  verifyRosterChain,
} from '../roster.js';
import type { OpenedWorkspace, SyncSession, WorkspaceEntry } from '../types.js';
import { RosterListSchema, WorkspaceEntrySchema } from '../wire.js';
import { type Transport, workspacePath } from './transport.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Our user id and public keys, as they appear in a roster. */
export function me(session: SyncSession): RosterMember {
  return {
    userId: session.userId,
    email: session.email.toLowerCase(),
    role: 'admin',
    boxPublicKey: b64(session.userKeys.box.publicKey),
    signingPublicKey: b64(session.userKeys.signing.publicKey),
  };
}

export async function createWorkspace(
  http: Transport,
  session: SyncSession,
  name: string,
): Promise<OpenedWorkspace> {
  const id = randomId('ws');
  const key = createWorkspaceKey();
  const self = me(session);
  const roster = signRoster(
    { workspaceId: id, serial: 1, prev: null, keyVersion: 1, members: [self] },
    session.userKeys.signing,
  );
  const sealedKey = await sealWorkspaceKey(key, self.boxPublicKey, { workspaceId: id, keyVersion: 1 });
  const grant = signGrant(
    { workspaceId: id, keyVersion: 1, rosterSerial: 1, recipient: self.userId, sealedKey },
    self,
    session.userKeys.signing,
  );
  const res = await http.authed(session, 'POST', '/v1/workspaces', { id, name, roster, grant });
  http.ok(res, 201, 'the new workspace');
  return {
    workspace: { id, name, role: 'admin', keyVersion: 1, rotationPending: false, key },
    roster: verifyRosterChain([roster], { workspaceId: id }),
    serverClaimsRotation: false,
  };
}

export async function listWorkspaces(http: Transport, session: SyncSession): Promise<WorkspaceEntry[]> {
  const res = await http.authed(session, 'GET', '/v1/workspaces');
  return http.expect(res, 200, z.array(WorkspaceEntrySchema).max(10_000), 'the workspace list');
}

export async function rosterChain(
  http: Transport,
  session: SyncSession,
  workspaceId: string,
): Promise<SignedRoster[]> {
  const res = await http.authed(session, 'GET', `${workspacePath(workspaceId)}/roster`);
  return http.expect(res, 200, RosterListSchema, 'the roster').rosters;
}

export async function openWorkspace(
  http: Transport,
  session: SyncSession,
  entry: WorkspaceEntry,
  pin: RosterPin | undefined,
): Promise<OpenedWorkspace> {
  if (entry.grant === null) {
    throw new AgentSecretsError(
      'ROSTER_INVALID',
      `workspace ${entry.name} was created before signed rosters and key grants; its key cannot be verified`,
      {
        hint: `an admin runs \`agentsecrets workspace upgrade ${entry.name}\` (it rotates the key) and admits the members again with their fingerprints`,
      },
    );
  }
  const roster = verifyRosterChain(await rosterChain(http, session, entry.id), {
    workspaceId: entry.id,
    pin,
  });
  const self = me(session);
  const member = rosterMember(roster.latest, self);
  if (member === undefined) {
    throw new AgentSecretsError('ROSTER_INVALID', `the roster of ${entry.name} does not list your key`, {
      hint: 'an admin admits you with the fingerprint `agentsecrets workspace list` shows you',
    });
  }
  const grant = verifyGrant(entry.grant, roster, self);
  let key: Buffer;
  try {
    key = await openWorkspaceKey(grant.sealedKey, session.userKeys.box, {
      workspaceId: entry.id,
      keyVersion: grant.keyVersion,
    });
  } catch (e) {
    throw new AgentSecretsError(
      'KEY_GRANT_INVALID',
      `the workspace key granted for ${entry.name} does not open`,
      {
        hint: 'the grant is signed but its sealed key is not for you; tell your admins',
        cause: e,
      },
    );
  }
  const rotationPending = roster.latest.keyVersion > grant.keyVersion;
  return {
    workspace: {
      id: entry.id,
      name: entry.name,
      role: member.role,
      keyVersion: grant.keyVersion,
      rotationPending,
      key,
    },
    roster,
    serverClaimsRotation: entry.rotationPending && !rotationPending,
  };
}
