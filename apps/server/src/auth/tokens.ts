import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const ACCESS_TTL_MS = 15 * 60 * 1000;

/** Hex SHA-256: how refresh tokens and rate-limit buckets are stored (never as given). */
export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A new random refresh token (what the client keeps; the server keeps only its hash). */
export const newRefreshToken = () => randomBytes(32).toString('base64url');

/** A new session (refresh token family) id. */
export const newFamily = () => randomBytes(12).toString('base64url');

/** What the server derives from its secret: access tokens and the plausible answers for unknown emails. */
export interface Tokens {
  /** HMAC-SHA256 under the server secret, domain-separated by `label`. */
  mac(label: string, data: string): Buffer;
  /** A 15-minute access token naming its user and session. */
  issueAccess(userId: string, family: string): string;
  /** The user and session an access token names, when its MAC is good and it has not expired. */
  verifyAccess(token: string): { userId: string; family: string } | undefined;
}

/**
 * Access tokens are `v2.<user>.<session>.<expiry>.<mac>`: stateless to check, but a token names its session (the
 * refresh token family), so the authentication check also ends it at once when the session ends.
 */
export function createTokens(serverSecret: Buffer): Tokens {
  const mac = (label: string, data: string) =>
    createHmac('sha256', serverSecret).update(`${label}\n${data}`).digest();
  return {
    mac,
    issueAccess(userId, family) {
      const body = `v2.${userId}.${family}.${Date.now() + ACCESS_TTL_MS}`;
      return `${body}.${mac('access', body).toString('base64url')}`;
    },
    verifyAccess(token) {
      const parts = token.split('.');
      if (parts.length !== 5 || parts[0] !== 'v2') return undefined;
      const given = Buffer.from(parts[4]!, 'base64url');
      const expected = mac('access', parts.slice(0, 4).join('.'));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      if (!(Number(parts[3]) > Date.now())) return undefined;
      return { userId: parts[1]!, family: parts[2]! };
    },
  };
}
