import { AgentSecretsError } from '@agentsecrets/errors';

/** The errno code of a Node file-system error, e.g. `ENOENT`, or undefined. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

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
