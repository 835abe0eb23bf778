import type { KeyGrant, RosterMember } from '@agentsecrets/sync';
import type { Db } from '../db/db.js';
import { SyncRefusal } from '../errors.js';
import { publicKeysOf } from '../store/users.js';

// What the server can check of what admins sign: that it names real accounts and is for this workspace. Whether an
// admin signed it is for clients to check, against admins they pinned.

/** Whether a roster member names an account with exactly these email and keys. */
export async function matchesAccount(db: Db, member: RosterMember): Promise<boolean> {
  const account = await publicKeysOf(db, member.userId);
  return (
    account !== undefined &&
    account.email === member.email &&
    account.boxPublicKey === member.boxPublicKey &&
    account.signingPublicKey === member.signingPublicKey
  );
}

/** Refuses a grant that is not for this workspace, recipient and key version. */
export function checkGrant(
  grant: KeyGrant | undefined,
  workspaceId: string,
  recipient: string,
  keyVersion: number,
): KeyGrant {
  if (
    grant === undefined ||
    grant.workspaceId !== workspaceId ||
    grant.recipient !== recipient ||
    grant.keyVersion !== keyVersion
  ) {
    throw new SyncRefusal(
      'INVALID_ARGUMENT',
      'each member needs a key grant for this workspace and key version',
    );
  }
  return grant;
}
