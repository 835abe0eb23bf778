import type { KdfOfferSchema, SealedUserKeysSchema } from '@agentsecrets/sync';
import type { z } from 'zod';
import type { Db } from '../db/db.js';

type KdfOffer = z.infer<typeof KdfOfferSchema>;
type SealedUserKeys = z.infer<typeof SealedUserKeysSchema>;

/** A new account. Throws a unique violation when the email (or id) is taken. */
export async function insertUser(
  db: Db,
  user: { id: string; email: string; authHash: string; kdf: KdfOffer; keys: SealedUserKeys },
): Promise<void> {
  await db.query(
    `INSERT INTO users (id, email, auth_hash, kdf, box_public_key, signing_public_key, sealed_private_keys, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      user.id,
      user.email,
      user.authHash,
      JSON.stringify(user.kdf),
      user.keys.boxPublicKey,
      user.keys.signingPublicKey,
      user.keys.sealedPrivateKeys,
      Date.now(),
    ],
  );
}

/** An account's KDF offer, by email. */
export async function kdfOf(db: Db, email: string): Promise<KdfOffer | undefined> {
  const rows = await db.query<{ kdf: string }>('SELECT kdf FROM users WHERE email = $1', [email]);
  return rows[0] === undefined ? undefined : (JSON.parse(rows[0].kdf) as KdfOffer);
}

/** What login needs of an account, by email. */
export async function accountOf(
  db: Db,
  email: string,
): Promise<{ id: string; authHash: string; keys: SealedUserKeys } | undefined> {
  const rows = await db.query<{
    id: string;
    auth_hash: string;
    box_public_key: string;
    signing_public_key: string;
    sealed_private_keys: string;
  }>(
    'SELECT id, auth_hash, box_public_key, signing_public_key, sealed_private_keys FROM users WHERE email = $1',
    [email],
  );
  const r = rows[0];
  return r === undefined
    ? undefined
    : {
        id: r.id,
        authHash: r.auth_hash,
        keys: {
          boxPublicKey: r.box_public_key,
          signingPublicKey: r.signing_public_key,
          sealedPrivateKeys: r.sealed_private_keys,
        },
      };
}

/** A user's email and public keys, by id. */
export async function publicKeysOf(
  db: Db,
  userId: string,
): Promise<{ email: string; boxPublicKey: string; signingPublicKey: string } | undefined> {
  const rows = await db.query<{ email: string; box_public_key: string; signing_public_key: string }>(
    'SELECT email, box_public_key, signing_public_key FROM users WHERE id = $1',
    [userId],
  );
  const r = rows[0];
  return r === undefined
    ? undefined
    : { email: r.email, boxPublicKey: r.box_public_key, signingPublicKey: r.signing_public_key };
}
