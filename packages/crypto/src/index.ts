export { ENVELOPE_VERSION, open, seal } from './aead.js';
export { type BoxKeyPair, generateBoxKeyPair, openBox, sealBox } from './box.js';
export { assertKdfParams, DEFAULT_KDF_PARAMS, deriveKey, KDF_FLOORS, type KdfParams } from './kdf.js';
export {
  fingerprint,
  generateSigningKeyPair,
  hkdf,
  type SigningKeyPair,
  sign,
  signingPublicKey,
  verify,
} from './sign.js';
export { constantTimeEqual, randomBytes, randomId, sha256 } from './util.js';
