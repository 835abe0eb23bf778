import { z } from 'zod';
import { userFingerprint } from '../keys.js';
import type { Invite, SyncSession } from '../types.js';
import { InviteSchema, MyInviteSchema } from '../wire.js';
import { type Transport, workspacePath } from './transport.js';

export async function invite(
  http: Transport,
  session: SyncSession,
  workspaceId: string,
  email: string,
): Promise<void> {
  const res = await http.authed(session, 'POST', `${workspacePath(workspaceId)}/invites`, { email });
  http.ok(res, 202, 'the invite');
}

export async function acceptInvites(
  http: Transport,
  session: SyncSession,
): Promise<{ workspaceName: string; fingerprint: string }[]> {
  const res = await http.authed(session, 'GET', '/v1/invites');
  const invites = http.expect(res, 200, z.array(MyInviteSchema).max(10_000), 'your invites');
  const mine = userFingerprint(
    Buffer.from(session.userKeys.box.publicKey).toString('base64'),
    Buffer.from(session.userKeys.signing.publicKey).toString('base64'),
  );
  const out: { workspaceName: string; fingerprint: string }[] = [];
  for (const pending of invites) {
    if (pending.status === 'pending') {
      const accepted = await http.authed(
        session,
        'POST',
        `/v1/invites/${encodeURIComponent(pending.id)}/accept`,
        {},
      );
      http.ok(accepted, 204, 'the invite');
    }
    out.push({ workspaceName: pending.workspaceName, fingerprint: mine });
  }
  return out;
}

export async function listInvites(
  http: Transport,
  session: SyncSession,
  workspaceId: string,
): Promise<Invite[]> {
  const res = await http.authed(session, 'GET', `${workspacePath(workspaceId)}/invites`);
  const list = http.expect(res, 200, z.array(InviteSchema).max(10_000), 'the invites');
  return list.map((i) => ({
    id: i.id,
    email: i.email,
    status: i.status,
    userId: i.userId,
    boxPublicKey: i.boxPublicKey,
    signingPublicKey: i.signingPublicKey,
    fingerprint:
      i.boxPublicKey !== null && i.signingPublicKey !== null
        ? userFingerprint(i.boxPublicKey, i.signingPublicKey)
        : null,
  }));
}
