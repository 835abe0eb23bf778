import { isIP } from 'node:net';
import { randomBytes } from '@agentsecrets/crypto';

/** A new proxy session token: 256 random bits, url-safe. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** True for `localhost`, 127.0.0.0/8 and ::1: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1';
}
