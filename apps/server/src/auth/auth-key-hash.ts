import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: Buffer,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>;

// scrypt: N=2^15, r=8 (32 MiB) — the slow hash of the client's authentication key.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** What the users table keeps of an authentication key: `scrypt$<salt>$<hash>`. */
export async function hashAuthKey(authKey: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(Buffer.from(authKey, 'base64'), salt, 32, SCRYPT);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * Whether `authKey` matches `stored`. With no stored hash (an unknown email) the slow hash runs all the same, over
 * `decoySalt`, so timing does not tell known emails from unknown ones.
 */
export async function checkAuthKey(
  stored: string | undefined,
  authKey: string,
  decoySalt: Buffer,
): Promise<boolean> {
  const [, saltText, hashText] = (stored ?? `scrypt$${decoySalt.toString('base64')}$`).split('$');
  const computed = await scryptAsync(
    Buffer.from(authKey, 'base64'),
    Buffer.from(saltText ?? '', 'base64'),
    32,
    SCRYPT,
  );
  const expected = Buffer.from(hashText ?? '', 'base64');
  return stored !== undefined && expected.length === computed.length && timingSafeEqual(expected, computed);
}
