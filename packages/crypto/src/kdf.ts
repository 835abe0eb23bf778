import { AgentSecretsError } from '@agentsecrets/errors';
import { argon2id, hash } from 'argon2';
import { toBytes } from './util.js';

/** Argon2id cost parameters. */
export interface KdfParams {
  /** Memory in KiB. */
  readonly memoryKiB: number;
  /** Passes over memory. */
  readonly iterations: number;
  /** Lanes. */
  readonly parallelism: number;
}

/** RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes. */
export const DEFAULT_KDF_PARAMS: KdfParams = Object.freeze({
  memoryKiB: 65536,
  iterations: 3,
  parallelism: 4,
});

/**
 * The lowest parameters accepted from a file or a server (OWASP's Argon2id minimum: 19 MiB, 2 passes), so that a
 * tampered vault or a malicious server cannot downgrade key derivation.
 */
export const KDF_FLOORS: { readonly memoryKiB: number; readonly iterations: number } = Object.freeze({
  memoryKiB: 19456,
  iterations: 2,
});

const MAX_MEMORY_KIB = 4 * 1024 * 1024;
const MAX_ITERATIONS = 64;
const MIN_SALT = 16;

function invalid(message: string): AgentSecretsError {
  return new AgentSecretsError('CRYPTO_INVALID_INPUT', message, {
    hint: 'KDF parameters are { memoryKiB, iterations, parallelism } integers',
  });
}

/**
 * Validates KDF parameters read from anywhere untrusted and enforces the floors: below them is
 * KDF_PARAMS_TOO_WEAK (a downgrade is refused, never silently raised); malformed is CRYPTO_INVALID_INPUT.
 */
export function assertKdfParams(params: unknown): KdfParams {
  if (params === null || typeof params !== 'object') throw invalid('KDF parameters are missing');
  const { memoryKiB, iterations, parallelism } = params as Record<string, unknown>;
  for (const [name, v] of [
    ['memoryKiB', memoryKiB],
    ['iterations', iterations],
    ['parallelism', parallelism],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw invalid(`KDF parameter ${name} must be a positive integer`);
  }
  const m = memoryKiB as number;
  const t = iterations as number;
  const p = parallelism as number;
  if (m > MAX_MEMORY_KIB || t > MAX_ITERATIONS || p > 255)
    throw invalid('KDF parameters are beyond sane maxima');
  if (m < KDF_FLOORS.memoryKiB || t < KDF_FLOORS.iterations) {
    throw new AgentSecretsError(
      'KDF_PARAMS_TOO_WEAK',
      `Argon2id parameters m=${m} KiB t=${t} are below the floor (m >= ${KDF_FLOORS.memoryKiB} KiB, t >= ${KDF_FLOORS.iterations})`,
      { hint: 'the file or server offering them may have been tampered with; refusing to derive a key' },
    );
  }
  if (m < 8 * p) throw invalid('KDF memory must be at least 8 KiB per lane');
  return { memoryKiB: m, iterations: t, parallelism: p };
}

/**
 * Derives a key from a password with Argon2id (native `argon2`).
 *
 * @example
 * ```ts
 * const key = await deriveKey('correct horse', randomBytes(16)); // 32 bytes, ~0.25 s at the defaults
 * ```
 */
export async function deriveKey(
  password: string | Uint8Array,
  salt: Uint8Array,
  params: KdfParams = DEFAULT_KDF_PARAMS,
  length = 32,
): Promise<Buffer> {
  const p = assertKdfParams(params);
  if (salt.length < MIN_SALT) throw invalid(`the salt must be at least ${MIN_SALT} bytes`);
  if (!Number.isInteger(length) || length < 16 || length > 64)
    throw invalid('the key length must be 16 to 64 bytes');
  return argon2Raw(toBytes(password), toBytes(salt), p, length);
}

/** Raw Argon2id with optional secret and associated data; no floors (used by the known-answer test). */
export function argon2Raw(
  password: Buffer,
  salt: Buffer,
  params: KdfParams,
  length: number,
  extra: { secret?: Buffer; associatedData?: Buffer } = {},
): Promise<Buffer> {
  return hash(password, {
    type: argon2id,
    raw: true,
    salt,
    hashLength: length,
    memoryCost: params.memoryKiB,
    timeCost: params.iterations,
    parallelism: params.parallelism,
    ...extra,
  });
}
