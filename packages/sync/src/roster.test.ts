import { AgentSecretsError } from '@agentsecrets/errors';
import { describe, expect, it } from 'vitest';
import {
  createUserKeys,
  createWorkspaceKey,
  type KeyGrant,
  type RosterMember,
  rosterHash,
  type SignedRoster,
  sealWorkspaceKey,
  signGrant,
  signRoster,
  type UserKeys,
  verifyGrant,
  verifyRosterChain,
} from './index.js';

const WS = 'ws_roster_test_0123456789';

function code(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    return e instanceof AgentSecretsError ? e.code : 'FOREIGN';
  }
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
function member(id: string, keys: UserKeys, role: 'admin' | 'member'): RosterMember {
  return {
    userId: `usr_${id.padEnd(16, '0')}`,
    email: `${id}@example.com`,
    role,
    boxPublicKey: b64(keys.box.publicKey),
    signingPublicKey: b64(keys.signing.publicKey),
  };
}

async function team() {
  const [alice, bob, mallory] = await Promise.all([createUserKeys(), createUserKeys(), createUserKeys()]);
  const a = member('alice', alice, 'admin');
  const b = member('bob', bob, 'member');
  const m = member('mallory', mallory, 'admin');
  const genesis = signRoster(
    { workspaceId: WS, serial: 1, prev: null, keyVersion: 1, members: [a] },
    alice.signing,
  );
  const admitted = signRoster(
    { workspaceId: WS, serial: 2, prev: rosterHash(genesis), keyVersion: 1, members: [a, b] },
    alice.signing,
  );
  return { alice, bob, mallory, a, b, m, genesis, admitted };
}

describe('signed rosters', () => {
  it('verify from the first version, and refuse forged, reordered, rolled-back or forked chains', async () => {
    const { alice, bob, mallory, a, b, m, genesis, admitted } = await team();
    const ok = verifyRosterChain([genesis, admitted], { workspaceId: WS });
    expect(ok.latest.serial).toBe(2);
    expect(ok.pin.genesis).toBe(rosterHash(genesis));
    // Pinned: the same chain and its extensions verify; a rollback or a different first version do not.
    expect(code(() => verifyRosterChain([genesis, admitted], { workspaceId: WS, pin: ok.pin }))).toBe('OK');
    expect(code(() => verifyRosterChain([genesis], { workspaceId: WS, pin: ok.pin }))).toBe('ROSTER_INVALID');
    const other = signRoster(
      { workspaceId: WS, serial: 1, prev: null, keyVersion: 1, members: [m] },
      mallory.signing,
    );
    expect(code(() => verifyRosterChain([other], { workspaceId: WS, pin: ok.pin }))).toBe('ROSTER_INVALID');
    // A member added by someone who is not an admin of the version before (a stranger, or a plain member).
    const byMallory = signRoster(
      { workspaceId: WS, serial: 3, prev: rosterHash(admitted), keyVersion: 1, members: [a, b, m] },
      mallory.signing,
    );
    expect(code(() => verifyRosterChain([genesis, admitted, byMallory], { workspaceId: WS }))).toBe(
      'ROSTER_INVALID',
    );
    const byBob = signRoster(
      { workspaceId: WS, serial: 3, prev: rosterHash(admitted), keyVersion: 1, members: [a, b, m] },
      bob.signing,
    );
    expect(code(() => verifyRosterChain([genesis, admitted, byBob], { workspaceId: WS }))).toBe(
      'ROSTER_INVALID',
    );
    // An altered member list, a skipped version, a broken link.
    const tampered: SignedRoster = { ...admitted, members: [a, b, m] };
    expect(code(() => verifyRosterChain([genesis, tampered], { workspaceId: WS }))).toBe('ROSTER_INVALID');
    expect(code(() => verifyRosterChain([admitted], { workspaceId: WS }))).toBe('ROSTER_INVALID');
    const unlinked = signRoster(
      { workspaceId: WS, serial: 2, prev: '0'.repeat(64), keyVersion: 1, members: [a, b] },
      alice.signing,
    );
    expect(code(() => verifyRosterChain([genesis, unlinked], { workspaceId: WS }))).toBe('ROSTER_INVALID');
    // A removal that does not ask for a new key is refused; with one it verifies.
    const quiet = signRoster(
      { workspaceId: WS, serial: 3, prev: rosterHash(admitted), keyVersion: 1, members: [a] },
      alice.signing,
    );
    expect(code(() => verifyRosterChain([genesis, admitted, quiet], { workspaceId: WS }))).toBe(
      'ROSTER_INVALID',
    );
    const removal = signRoster(
      { workspaceId: WS, serial: 3, prev: rosterHash(admitted), keyVersion: 2, members: [a] },
      alice.signing,
    );
    expect(verifyRosterChain([genesis, admitted, removal], { workspaceId: WS }).latest.keyVersion).toBe(2);
    expect(code(() => verifyRosterChain([genesis], { workspaceId: 'ws_another_workspace_0000' }))).toBe(
      'ROSTER_INVALID',
    );
  });
});

describe('key grants', () => {
  it('are accepted only from an admin of the named roster, for us, this workspace and its key version', async () => {
    const { alice, bob, mallory, a, b, m, genesis, admitted } = await team();
    const roster = verifyRosterChain([genesis, admitted], { workspaceId: WS });
    const key = createWorkspaceKey();
    const grant = (over: Partial<KeyGrant> = {}, signer = alice.signing, to = b) =>
      sealWorkspaceKey(key, to.boxPublicKey, { workspaceId: WS, keyVersion: 1 }).then((sealedKey) =>
        signGrant(
          { workspaceId: WS, keyVersion: 1, rosterSerial: 2, recipient: to.userId, sealedKey, ...over },
          to,
          signer,
        ),
      );
    const me = b;
    const good = await grant();
    expect(code(() => verifyGrant(good, roster, me))).toBe('OK');
    // The server's own key, sealed to bob and signed by a key that is no admin's.
    const evil = await grant({}, mallory.signing);
    expect(code(() => verifyGrant(evil, roster, me))).toBe('KEY_GRANT_INVALID');
    // A correctly signed grant whose sealed key was swapped.
    const swapped = {
      ...good,
      sealedKey: await sealWorkspaceKey(createWorkspaceKey(), b.boxPublicKey, {
        workspaceId: WS,
        keyVersion: 1,
      }),
    };
    expect(code(() => verifyGrant(swapped, roster, me))).toBe('KEY_GRANT_INVALID');
    // For someone else, or for other keys than ours; a roster version before bob was admitted.
    expect(code(() => verifyGrant(good, roster, a))).toBe('KEY_GRANT_INVALID');
    expect(code(() => verifyGrant(good, roster, { ...me, boxPublicKey: m.boxPublicKey }))).toBe(
      'KEY_GRANT_INVALID',
    );
    expect(code(() => verifyGrant({ ...good, rosterSerial: 1 }, roster, me))).toBe('KEY_GRANT_INVALID');
    const early = await grant({ rosterSerial: 1 });
    expect(code(() => verifyGrant(early, roster, me))).toBe('KEY_GRANT_INVALID');
    const wrongVersion = await grant({ keyVersion: 2 });
    expect(code(() => verifyGrant(wrongVersion, roster, me))).toBe('KEY_GRANT_INVALID');
    const byBob = await grant({}, bob.signing);
    expect(code(() => verifyGrant(byBob, roster, me))).toBe('KEY_GRANT_INVALID');
    expect(code(() => verifyGrant({ ...good, workspaceId: 'ws_another_workspace_0000' }, roster, me))).toBe(
      'KEY_GRANT_INVALID',
    );
  });
});
