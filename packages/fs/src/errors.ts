import { AgentSecretsError } from '@agentsecrets/errors';

/** The errno code of a Node file-system error, e.g. `ENOENT`, or undefined. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A file-system failure, `FILE_IO`, named by action, path and errno code only (a path is a name; the OS's text is
 * kept as the cause, never shown).
 */
export function fileIoError(action: string, path: string, cause: unknown): AgentSecretsError {
  const code = errnoCode(cause);
  return new AgentSecretsError('FILE_IO', `cannot ${action} ${path}${code ? ` (${code})` : ''}`, {
    hint:
      code === 'EACCES' || code === 'EPERM'
        ? 'check that this user owns the file and its directory (the AgentSecrets home is meant to be 0700)'
        : code === 'ENOSPC'
          ? 'free some disk space and try again; the file was not changed'
          : 'check the path and its permissions; the file was not changed',
    cause,
  });
}
