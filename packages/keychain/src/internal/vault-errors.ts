import { AgentSecretsError, isAgentSecretsError } from '@agentsecrets/errors';
import { errnoCode } from '@agentsecrets/fs';

/** A file-system failure on a vault path, named by path and errno code only. */
export function vaultIoError(action: string, path: string, cause: unknown): AgentSecretsError {
  const code = errnoCode(cause);
  return new AgentSecretsError('VAULT_UNAVAILABLE', `cannot ${action} ${path}${code ? ` (${code})` : ''}`, {
    hint:
      code === 'EACCES' || code === 'EPERM'
        ? 'check that this user owns the file and its directory (the vault is meant to be 0600 in a 0700 directory)'
        : code === 'ENOSPC'
          ? 'free some disk space and try again; the vault was not changed'
          : 'check the path and its permissions; the vault was not changed',
    cause,
  });
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

function asVaultError(error: unknown): unknown {
  if (!isAgentSecretsError(error)) return error;
  const code =
    error.code === 'FILE_BUSY' ? 'VAULT_BUSY' : error.code === 'FILE_IO' ? 'VAULT_UNAVAILABLE' : undefined;
  if (code === undefined) return error;
  return new AgentSecretsError(code, error.message, {
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    cause: error.cause,
  });
}
