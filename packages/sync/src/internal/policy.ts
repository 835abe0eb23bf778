import type { SignedPolicy } from '../envelopes.js';
import type { SyncSession } from '../types.js';
import { StoredPolicySchema } from '../wire.js';
import { type Transport, workspacePath } from './transport.js';

export async function getPolicy(
  http: Transport,
  session: SyncSession,
  workspaceId: string,
): Promise<SignedPolicy | null> {
  const res = await http.authed(session, 'GET', `${workspacePath(workspaceId)}/policy`);
  return http.expect(res, 200, StoredPolicySchema, 'the team policy').policy as SignedPolicy | null;
}

export async function putPolicy(http: Transport, session: SyncSession, policy: SignedPolicy): Promise<void> {
  const res = await http.authed(session, 'PUT', `${workspacePath(policy.workspaceId)}/policy`, { policy });
  http.ok(res, 204, 'the team policy');
}
