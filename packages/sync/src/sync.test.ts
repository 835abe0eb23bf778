import { AgentSecretsError } from '@agentsecrets/errors';
import { describe, expect, it } from 'vitest';
import {
  createUserKeys,
  createWorkspaceKey,
  decryptSecret,
  deriveAccountKeys,
  encryptSecret,
  newKdfOffer,
  openUserKeys,
  openWorkspaceKey,
  type SecretCoordinates,
  sealUserKeys,
  sealWorkspaceKey,
  signPolicy,
  userFingerprint,
  verifyPolicy,
} from './index.js';

const FAST = { memoryKiB: 19456, iterations: 2, parallelism: 1 };
const PASSWORD = 'canary-PASSWORD-correct horse';

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'OK';
  } catch (e) {
    return e instanceof AgentSecretsError ? e.code : 'FOREIGN';
  }
}

describe('account keys', () => {
  it('split the password into independent auth and encryption keys, deterministically per salt', async () => {
    const offer = newKdfOffer(FAST);
    const a = await deriveAccountKeys(PASSWORD, offer);
    const b = await deriveAccountKeys(PASSWORD, offer);
    expect(a.authKey.equals(b.authKey)).toBe(true);
    expect(a.authKey.equals(a.encKey)).toBe(false);
    expect((await deriveAccountKeys(PASSWORD, newKdfOffer(FAST))).authKey.equals(a.authKey)).toBe(false);
    expect(a.authKey.toString('latin1')).not.toContain(PASSWORD);
  });

  it('refuse a server that lowers the KDF parameters or the salt', async () => {
    expect(
      await code(
        deriveAccountKeys(PASSWORD, { salt: newKdfOffer(FAST).salt, params: { ...FAST, memoryKiB: 1024 } }),
      ),
    ).toBe('KDF_PARAMS_TOO_WEAK');
    expect(
      await code(
        deriveAccountKeys(PASSWORD, { salt: newKdfOffer(FAST).salt, params: { ...FAST, iterations: 1 } }),
      ),
    ).toBe('KDF_PARAMS_TOO_WEAK');
    expect(
      await code(deriveAccountKeys(PASSWORD, { salt: Buffer.alloc(8).toString('base64'), params: FAST })),
    ).toBe('KDF_PARAMS_TOO_WEAK');
  });
});

describe('user keys', () => {
  it('seal under the encryption key, bound to the user and the public keys', async () => {
    const { encKey } = await deriveAccountKeys(PASSWORD, newKdfOffer(FAST));
    const keys = await createUserKeys();
    const sealed = sealUserKeys(keys, encKey, 'usr_alice');
    const opened = openUserKeys(sealed, encKey, 'usr_alice');
    expect(Buffer.from(opened.signing.privateKey).equals(Buffer.from(keys.signing.privateKey))).toBe(true);
    expect(await code(() => openUserKeys(sealed, encKey, 'usr_bob'))).toBe('DECRYPT_FAILED');
    const other = await createUserKeys();
    const swapped = { ...sealed, boxPublicKey: Buffer.from(other.box.publicKey).toString('base64') };
    expect(await code(() => openUserKeys(swapped, encKey, 'usr_alice'))).toBe('DECRYPT_FAILED');
    expect(await code(() => openUserKeys(sealed, Buffer.alloc(32, 1), 'usr_alice'))).toBe('DECRYPT_FAILED');
    expect(userFingerprint(sealed.boxPublicKey, sealed.signingPublicKey)).toMatch(
      /^([0-9a-f]{4} ){7}[0-9a-f]{4}$/,
    );
  });
});

describe('workspace keys', () => {
  it('are sealed to a member and refused for another workspace or version', async () => {
    const member = await createUserKeys();
    const key = createWorkspaceKey();
    const pub = Buffer.from(member.box.publicKey).toString('base64');
    const sealed = await sealWorkspaceKey(key, pub, { workspaceId: 'ws_a', keyVersion: 2 });
    expect(
      (await openWorkspaceKey(sealed, member.box, { workspaceId: 'ws_a', keyVersion: 2 })).equals(key),
    ).toBe(true);
    expect(await code(openWorkspaceKey(sealed, member.box, { workspaceId: 'ws_b', keyVersion: 2 }))).toBe(
      'DECRYPT_FAILED',
    );
    expect(await code(openWorkspaceKey(sealed, member.box, { workspaceId: 'ws_a', keyVersion: 1 }))).toBe(
      'DECRYPT_FAILED',
    );
    const outsider = await createUserKeys();
    expect(await code(openWorkspaceKey(sealed, outsider.box, { workspaceId: 'ws_a', keyVersion: 2 }))).toBe(
      'DECRYPT_FAILED',
    );
  });
});

describe('secret envelopes', () => {
  const key = createWorkspaceKey();
  const at: SecretCoordinates = {
    workspaceId: 'ws_a',
    projectId: 'prj_1',
    environment: 'dev',
    name: 'STRIPE_KEY',
    version: 3,
    keyVersion: 1,
  };

  it('open only at the coordinates they were written for: swap, move and replay are refused', async () => {
    const v3 = encryptSecret(key, 'canary-VALUE-3', at);
    const v2 = encryptSecret(key, 'canary-VALUE-2', { ...at, version: 2 });
    const other = encryptSecret(key, 'other-value', { ...at, name: 'GITHUB_TOKEN' });
    expect(decryptSecret(key, v3, at).toString()).toBe('canary-VALUE-3');
    expect(await code(() => decryptSecret(key, other, at))).toBe('DECRYPT_FAILED');
    expect(await code(() => decryptSecret(key, v2, at))).toBe('DECRYPT_FAILED');
    for (const moved of [
      { projectId: 'prj_2' },
      { environment: 'prod' },
      { workspaceId: 'ws_b' },
      { keyVersion: 2 },
    ]) {
      expect(await code(() => decryptSecret(key, v3, { ...at, ...moved }))).toBe('DECRYPT_FAILED');
    }
    expect(Buffer.from(v3, 'base64').toString('latin1')).not.toContain('canary-VALUE');
  });
});

describe('signed team policy', () => {
  it('is accepted only from an admin, for its workspace, not older than seen', async () => {
    const admin = await createUserKeys();
    const outsider = await createUserKeys();
    const adminKey = Buffer.from(admin.signing.publicKey).toString('base64');
    const policy = signPolicy(
      { workspaceId: 'ws_a', serial: 4, allowlist: ['api.stripe.com'], bindings: {} },
      admin.signing,
    );
    const expected = { workspaceId: 'ws_a', adminSigningKeys: [adminKey], minSerial: 3 };
    expect(verifyPolicy(policy, expected).allowlist).toEqual(['api.stripe.com']);
    const widened = { ...policy, allowlist: ['api.stripe.com', 'evil.example'] };
    expect(await code(() => verifyPolicy(widened, expected))).toBe('POLICY_SIGNATURE_INVALID');
    const unsigned = { ...policy, signature: '' };
    expect(await code(() => verifyPolicy(unsigned, expected))).toBe('POLICY_SIGNATURE_INVALID');
    const byOutsider = signPolicy(
      { workspaceId: 'ws_a', serial: 5, allowlist: ['evil.example'], bindings: {} },
      outsider.signing,
    );
    expect(await code(() => verifyPolicy(byOutsider, expected))).toBe('POLICY_SIGNATURE_INVALID');
    expect(await code(() => verifyPolicy(policy, { ...expected, workspaceId: 'ws_b' }))).toBe(
      'POLICY_SIGNATURE_INVALID',
    );
    expect(await code(() => verifyPolicy(policy, { ...expected, minSerial: 5 }))).toBe(
      'POLICY_SIGNATURE_INVALID',
    );
  });
});
