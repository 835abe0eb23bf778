import { AgentSecretsError, isAgentSecretsError } from '@agentsecrets/errors';
import { fileIoError } from '@agentsecrets/fs';

/** A file-system failure on a vault path, `VAULT_UNAVAILABLE`, named by path and errno code only (see fileIoError). */
export function vaultIoError(action: string, path: string, cause: unknown): AgentSecretsError {
  return asVaultError(fileIoError(action, path, cause));
}

/**
 * Runs file work of the vault, giving its failures the vault's codes: the lock held by another process (`FILE_BUSY`)
 * is `VAULT_BUSY`, any other file failure (`FILE_IO`) `VAULT_UNAVAILABLE`; the message and hint stay.
 */
export async function asVault<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asVaultError(error);
  }
}

/** {@link asVault} for synchronous work. */
export function asVaultNow<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw asVaultError(error);
  }
}

function asVaultError<E>(error: E): E | AgentSecretsError {
  if (!isAgentSecretsError(error)) return error;
  const code =
    error.code === 'FILE_BUSY' ? 'VAULT_BUSY' : error.code === 'FILE_IO' ? 'VAULT_UNAVAILABLE' : undefined;
  if (code === undefined) return error;
  return new AgentSecretsError(code, error.message, {
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    cause: error.cause,
  });
}
