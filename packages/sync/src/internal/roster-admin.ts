import { AgentSecretsError } from '@agentsecrets/errors';
import { z } from 'zod';
import { decryptSecret, encryptSecret } from '../envelopes.js';
import { createWorkspaceKey, openWorkspaceKey, sealWorkspaceKey } from '../keys.js';
import {
  type KeyGrant,
  type RosterMember,
  type SignedRoster,
  signGrant,
  signRoster,
  type VerifiedRoster,
  verifyRosterChain,
} from '../roster.js';
import type { OpenedWorkspace, SyncSession, WorkspaceEntry } from '../types.js';
import { WorkspaceSecretSchema } from '../wire.js';
import { listInvites } from './invites.js';
import { coordinates } from './secrets.js';
import { type Transport, workspacePath } from './transport.js';
import { me } from './workspaces.js';

// What admins do to a workspace's membership and key: every change is a roster version signed here, and every key
// is made here and granted only to members of a roster the admins signed.

/** Stores the next roster version with grants for the members it admits; returns the verified chain. */
async function putRoster(
  http: Transport,
  session: SyncSession,
  current: VerifiedRoster,
  next: Omit<SignedRoster, 'signer' | 'signature' | 'workspaceId' | 'serial' | 'prev'>,
  grants: (roster: SignedRoster) => Promise<KeyGrant[]>,
): Promise<VerifiedRoster> {
  const latest = current.latest;
  const roster = signRoster(
    { ...next, workspaceId: latest.workspaceId, serial: latest.serial + 1, prev: current.pin.hash },
    session.userKeys.signing,
  );
  // Checked here as every member will check it: an admin never stores a roster the others would refuse.
  const verified = verifyRosterChain([...current.chain, roster], {
    workspaceId: latest.workspaceId,
    pin: current.pin,
  });
  const res = await http.authed(session, 'PUT', `${workspacePath(latest.workspaceId)}/roster`, {
    roster,
    grants: await grants(roster),
  });
  http.ok(res, 204, 'the roster');
  return verified;
}

export async function admit(
  http: Transport,
  session: SyncSession,
  opened: OpenedWorkspace,
  email: string,
  expectedFingerprint: string,
): Promise<VerifiedRoster> {
  const { workspace, roster } = opened;
  const invite = (await listInvites(http, session, workspace.id)).find(
    (i) => i.email === email.toLowerCase(),
  );
  if (
    invite === undefined ||
    invite.status !== 'accepted' ||
    invite.userId === null ||
    invite.boxPublicKey === null ||
    invite.signingPublicKey === null
  ) {
    throw new AgentSecretsError(
      'INVITE_NOT_FOUND',
      `${email} has not accepted an invite to ${workspace.name} yet`,
      {
        hint: 'they log in and run `agentsecrets workspace list`, then tell you their fingerprint',
      },
    );
  }
  const normalize = (f: string) => f.replace(/\s+/g, '').toLowerCase();
  if (invite.fingerprint === null || normalize(invite.fingerprint) !== normalize(expectedFingerprint)) {
    throw new AgentSecretsError(
      'SIGNATURE_INVALID',
      `the key the server presents for ${email} does not have that fingerprint`,
      {
        hint: 'do not admit them; check the fingerprint with them again, out of band',
      },
    );
  }
  const member: RosterMember = {
    userId: invite.userId,
    email: invite.email,
    role: 'member',
    boxPublicKey: invite.boxPublicKey,
    signingPublicKey: invite.signingPublicKey,
  };
  const members = [...roster.latest.members.filter((m) => m.userId !== member.userId), member];
  return putRoster(http, session, roster, { keyVersion: roster.latest.keyVersion, members }, async (next) => [
    signGrant(
      {
        workspaceId: workspace.id,
        keyVersion: workspace.keyVersion,
        rosterSerial: next.serial,
        recipient: member.userId,
        sealedKey: await sealWorkspaceKey(workspace.key, member.boxPublicKey, {
          workspaceId: workspace.id,
          keyVersion: workspace.keyVersion,
        }),
      },
      member,
      session.userKeys.signing,
    ),
  ]);
}

export async function changeMembers(
  http: Transport,
  session: SyncSession,
  opened: OpenedWorkspace,
  change: { readonly remove?: string; readonly setRole?: { userId: string; role: 'admin' | 'member' } },
): Promise<VerifiedRoster> {
  const latest = opened.roster.latest;
  let members = latest.members.map((m) =>
    change.setRole?.userId === m.userId ? { ...m, role: change.setRole.role } : m,
  );
  if (change.remove !== undefined) members = members.filter((m) => m.userId !== change.remove);
  if (!members.some((m) => m.role === 'admin')) {
    throw new AgentSecretsError('INVALID_ARGUMENT', 'a workspace keeps at least one admin', {
      hint: 'promote someone else first',
    });
  }
  // A removal raises the key version: the signed request for the rotation that follows.
  const keyVersion = change.remove === undefined ? latest.keyVersion : latest.keyVersion + 1;
  return putRoster(http, session, opened.roster, { keyVersion, members }, async () => []);
}

export async function rotate(
  http: Transport,
  session: SyncSession,
  opened: OpenedWorkspace,
): Promise<OpenedWorkspace> {
  const { workspace, roster } = opened;
  const latest = roster.latest;
  if (latest.keyVersion <= workspace.keyVersion) return opened;
  const path = workspacePath(workspace.id);
  const res = await http.authed(session, 'GET', `${path}/secrets`);
  const stored = http.expect(res, 200, z.array(WorkspaceSecretSchema).max(100_000), 'the secret list');
  const keyVersion = latest.keyVersion;
  const key = createWorkspaceKey();
  const grants: KeyGrant[] = [];
  // Exactly the members of the roster the admins signed, never a list the server hands out.
  for (const m of latest.members) {
    const sealedKey = await sealWorkspaceKey(key, m.boxPublicKey, { workspaceId: workspace.id, keyVersion });
    grants.push(
      signGrant(
        {
          workspaceId: workspace.id,
          keyVersion,
          rosterSerial: latest.serial,
          recipient: m.userId,
          sealedKey,
        },
        m,
        session.userKeys.signing,
      ),
    );
  }
  const secrets = stored.map((s) => {
    const at = { workspace, projectId: s.projectId, environment: s.environment };
    const value = decryptSecret(workspace.key, s.ciphertext, {
      ...coordinates(at, s.name, s.version),
      keyVersion: s.keyVersion,
    });
    try {
      return {
        projectId: s.projectId,
        environment: s.environment,
        name: s.name,
        version: s.version + 1,
        ciphertext: encryptSecret(key, value, { ...coordinates(at, s.name, s.version + 1), keyVersion }),
      };
    } finally {
      value.fill(0);
    }
  });
  const done = await http.authed(session, 'POST', `${path}/rotate`, { keyVersion, grants, secrets });
  http.ok(done, 204, 'the rotation');
  return { ...opened, workspace: { ...workspace, key, keyVersion, rotationPending: false } };
}

export async function upgrade(
  http: Transport,
  session: SyncSession,
  entry: WorkspaceEntry,
): Promise<OpenedWorkspace> {
  if (entry.grant !== null || entry.sealedKey === undefined) {
    throw new AgentSecretsError('INVALID_ARGUMENT', `workspace ${entry.name} already has a signed roster`, {
      hint: 'nothing to upgrade',
    });
  }
  const oldKey = await openWorkspaceKey(entry.sealedKey, session.userKeys.box, {
    workspaceId: entry.id,
    keyVersion: entry.keyVersion,
  });
  const genesis = signRoster(
    {
      workspaceId: entry.id,
      serial: 1,
      prev: null,
      keyVersion: entry.keyVersion + 1,
      members: [me(session)],
    },
    session.userKeys.signing,
  );
  const res = await http.authed(session, 'PUT', `${workspacePath(entry.id)}/roster`, {
    roster: genesis,
    grants: [],
  });
  http.ok(res, 204, 'the roster');
  return rotate(http, session, {
    workspace: {
      id: entry.id,
      name: entry.name,
      role: 'admin',
      keyVersion: entry.keyVersion,
      rotationPending: true,
      key: oldKey,
    },
    roster: verifyRosterChain([genesis], { workspaceId: entry.id }),
    serverClaimsRotation: false,
  });
}
