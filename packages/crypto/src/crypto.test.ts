import { AgentSecretsError } from '@agentsecrets/errors';
import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { describe, expect, it } from 'vitest';
import { gcmDecrypt, gcmEncrypt } from './aead.js';
import {
  assertKdfParams,
  constantTimeEqual,
  DEFAULT_KDF_PARAMS,
  deriveKey,
  fingerprint,
  generateBoxKeyPair,
  generateSigningKeyPair,
  hkdf,
  open,
  openBox,
  randomBytes,
  randomId,
  seal,
  sealBox,
  sign,
  signingPublicKey,
  verify,
} from './index.js';
import { argon2Raw } from './kdf.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const FAST = { memoryKiB: 19456, iterations: 2, parallelism: 1 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof AgentSecretsError ? e.code : 'FOREIGN';
  }
  return undefined;
}

describe('Argon2id', () => {
  it('matches the RFC 9106 §5.3 known answer', async () => {
    const tag = await argon2Raw(
      Buffer.alloc(32, 1),
      Buffer.alloc(16, 2),
      { memoryKiB: 32, iterations: 3, parallelism: 4 },
      32,
      { secret: Buffer.alloc(8, 3), associatedData: Buffer.alloc(12, 4) },
    );
    expect(tag.toString('hex')).toBe('0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });

  it('derives a stable key at the default parameters and different keys for different salts', async () => {
    const salt = Buffer.alloc(16, 9);
    const a = await deriveKey('pw', salt);
    expect(a).toHaveLength(32);
    expect((await deriveKey('pw', salt, FAST)).equals(await deriveKey('pw', salt, FAST))).toBe(true);
    expect((await deriveKey('pw', Buffer.alloc(16, 8), FAST)).equals(await deriveKey('pw', salt, FAST))).toBe(
      false,
    );
  });

  it('refuses parameters below the floors and malformed ones', async () => {
    expect(assertKdfParams(DEFAULT_KDF_PARAMS)).toEqual(DEFAULT_KDF_PARAMS);
    expect(codeOf(() => assertKdfParams({ memoryKiB: 19455, iterations: 3, parallelism: 1 }))).toBe(
      'KDF_PARAMS_TOO_WEAK',
    );
    expect(codeOf(() => assertKdfParams({ memoryKiB: 65536, iterations: 1, parallelism: 1 }))).toBe(
      'KDF_PARAMS_TOO_WEAK',
    );
    expect(codeOf(() => assertKdfParams({ memoryKiB: '65536', iterations: 3, parallelism: 1 }))).toBe(
      'CRYPTO_INVALID_INPUT',
    );
    expect(codeOf(() => assertKdfParams(null))).toBe('CRYPTO_INVALID_INPUT');
    await expect(
      deriveKey('pw', Buffer.alloc(16), { memoryKiB: 1024, iterations: 1, parallelism: 1 }),
    ).rejects.toMatchObject({
      code: 'KDF_PARAMS_TOO_WEAK',
    });
    await expect(deriveKey('pw', Buffer.alloc(8), FAST)).rejects.toMatchObject({
      code: 'CRYPTO_INVALID_INPUT',
    });
  });
});

describe('AES-256-GCM', () => {
  it('matches NIST GCM test cases 13, 14 and 16', () => {
    const zero = Buffer.alloc(32);
    const iv0 = Buffer.alloc(12);
    const t13 = gcmEncrypt(zero, iv0, Buffer.alloc(0), Buffer.alloc(0));
    expect(t13.tag.toString('hex')).toBe('530f8afbc74536b9a963b4f1c4cb738b');
    const t14 = gcmEncrypt(zero, iv0, Buffer.alloc(16), Buffer.alloc(0));
    expect(t14.ciphertext.toString('hex')).toBe('cea7403d4d606b6e074ec5d3baf39d18');
    expect(t14.tag.toString('hex')).toBe('d0d1c8a799996bf0265b98b5d48ab919');
    const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
    const iv = hex('cafebabefacedbaddecaf888');
    const pt = hex(`d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
      1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39`);
    const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const t16 = gcmEncrypt(key, iv, pt, aad);
    expect(t16.ciphertext.toString('hex')).toBe(
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    );
    expect(t16.tag.toString('hex')).toBe('76fc6ece0f4e1768cddf8853bb2d551b');
    expect(gcmDecrypt(key, iv, t16.ciphertext, t16.tag, aad).equals(pt)).toBe(true);
  });

  it('round-trips any plaintext and context (property)', () => {
    const key = randomBytes(32);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.string(), (pt, aad) => {
        expect(open(key, seal(key, pt, aad), aad).equals(Buffer.from(pt))).toBe(true);
      }),
    );
  });

  it('fails closed on every kind of tampering', () => {
    const key = randomBytes(32);
    const env = seal(key, 'the value', 'ctx');
    for (let bit = 0; bit < env.length * 8; bit += 7) {
      const t = Buffer.from(env);
      t[bit >> 3]! ^= 1 << (bit & 7);
      const code = codeOf(() => open(key, t, 'ctx'));
      expect(['DECRYPT_FAILED', 'ENVELOPE_INVALID'], `bit ${bit}`).toContain(code);
    }
    expect(codeOf(() => open(key, env, 'other ctx'))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => open(randomBytes(32), env, 'ctx'))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => open(key, env.subarray(0, 20), 'ctx'))).toBe('ENVELOPE_INVALID');
    expect(codeOf(() => open(key, env.subarray(0, env.length - 1), 'ctx'))).toBe('DECRYPT_FAILED');
    const v2 = Buffer.from(env);
    v2[0] = 2;
    expect(codeOf(() => open(key, v2, 'ctx'))).toBe('ENVELOPE_INVALID');
    expect(codeOf(() => seal(Buffer.alloc(16), 'x', 'ctx'))).toBe('CRYPTO_INVALID_INPUT');
    expect(
      seal(key, 'x', 'c')
        .subarray(2, 14)
        .equals(seal(key, 'x', 'c').subarray(2, 14)),
    ).toBe(false);
  });
});

describe('sealed boxes', () => {
  it('interoperates with libsodium crypto_box_seal in both directions', async () => {
    await sodium.ready;
    const ours = await generateBoxKeyPair();
    const fromSodium = sodium.crypto_box_seal(Buffer.from('to ours'), ours.publicKey);
    expect(Buffer.from(await openBox(fromSodium, ours)).toString()).toBe('to ours');
    const theirs = sodium.crypto_box_keypair();
    const fromUs = await sealBox('to theirs', theirs.publicKey);
    expect(
      Buffer.from(sodium.crypto_box_seal_open(fromUs, theirs.publicKey, theirs.privateKey)).toString(),
    ).toBe('to theirs');
    const other = await generateBoxKeyPair();
    await expect(openBox(fromSodium, other)).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
    const tampered = Uint8Array.from(fromSodium);
    tampered[tampered.length - 1]! ^= 1;
    await expect(openBox(tampered, ours)).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });
});

describe('Ed25519, HKDF and helpers', () => {
  it('matches RFC 8032 test 1', () => {
    const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const pub = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(signingPublicKey(seed).equals(pub)).toBe(true);
    const sig = sign(Buffer.alloc(0), seed);
    expect(sig.toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(verify(Buffer.alloc(0), sig, pub)).toBe(true);
  });

  it('signs and refuses altered messages, signatures and keys without throwing', () => {
    const kp = generateSigningKeyPair();
    const sig = sign('policy', kp.privateKey);
    expect(verify('policy', sig, kp.publicKey)).toBe(true);
    expect(verify('policy!', sig, kp.publicKey)).toBe(false);
    expect(verify('policy', sig.subarray(1), kp.publicKey)).toBe(false);
    expect(verify('policy', sig, generateSigningKeyPair().publicKey)).toBe(false);
    expect(verify('policy', sig, Buffer.alloc(5))).toBe(false);
    expect(fingerprint(kp.publicKey)).toMatch(/^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);
  });

  it('matches RFC 5869 test case 1', () => {
    const okm = hkdf(
      Buffer.alloc(22, 0x0b),
      hex('000102030405060708090a0b0c'),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    expect(okm.toString('hex')).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('compares in constant time and makes random ids', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual(Buffer.from('x'), 'x')).toBe(true);
    expect(randomId('ws')).toMatch(/^ws_[A-Za-z0-9_-]{22}$/);
    expect(randomId()).not.toBe(randomId());
  });
});
