import { DEFAULT_KDF_PARAMS, randomId } from '@agentsecrets/crypto';
import {
  createUserKeys,
  deriveAccountKeys,
  newKdfOffer,
  openUserKeys,
  type SealedUserKeys,
  sealUserKeys,
} from '../keys.js';
import type { SyncSession } from '../types.js';
import { KdfOfferSchema, LoginResponseSchema } from '../wire.js';
import type { Transport } from './transport.js';

// Accounts: what is sent is an authentication key derived from the password, never the password.

export async function signup(http: Transport, email: string, password: string): Promise<void> {
  const offer = newKdfOffer(DEFAULT_KDF_PARAMS);
  const account = await deriveAccountKeys(password, offer);
  const userId = randomId('usr');
  const keys: SealedUserKeys = sealUserKeys(await createUserKeys(), account.encKey, userId);
  const res = await http.send('POST', '/v1/auth/signup', {
    userId,
    email,
    authKey: account.authKey.toString('base64'),
    kdf: offer,
    keys,
  });
  http.ok(res, 202, 'the sign-up');
}

export async function login(http: Transport, email: string, password: string): Promise<SyncSession> {
  const pre = await http.send('POST', '/v1/auth/prelogin', { email });
  const offer = http.expect(pre, 200, KdfOfferSchema, 'the login');
  // Refuses parameters below the floors: a server cannot make the password cheap to guess.
  const account = await deriveAccountKeys(password, offer);
  const res = await http.send('POST', '/v1/auth/login', {
    email,
    authKey: account.authKey.toString('base64'),
  });
  const answer = http.expect(res, 200, LoginResponseSchema, 'the login');
  const userKeys = openUserKeys(answer.keys, account.encKey, answer.userId);
  account.encKey.fill(0);
  return {
    userId: answer.userId,
    email,
    accessToken: answer.accessToken,
    refreshToken: answer.refreshToken,
    userKeys,
  };
}

export async function logout(http: Transport, session: SyncSession): Promise<void> {
  await http.send('POST', '/v1/auth/logout', { refreshToken: session.refreshToken });
}
