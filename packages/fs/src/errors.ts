import { AgentSecretsError } from '@agentsecrets/errors';

/** The errno code of a Node file-system error, e.g. `ENOENT`, or undefined. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The `code` of the error for a path that leads to something other than a regular file (errno has none for it). */
export const NOT_REGULAR = 'NOT_A_REGULAR_FILE';

/** What to do about a path that is not a regular file. */
const NOT_REGULAR_HINT =
  'something else (a pipe, a device, a socket) is at this path: remove it, then restore the file or run the command again';

/** How the code of a file-system error reads after a message: ` (ENOENT)`, ` (not a regular file)`, or nothing. */
export function codeSuffix(error: unknown): string {
  const code = errnoCode(error);
  return code === undefined ? '' : code === NOT_REGULAR ? ' (not a regular file)' : ` (${code})`;
}

/**
 * A file-system failure, `FILE_IO`, named by action, path and errno code only (a path is a name; the OS's text is
 * kept as the cause, never shown).
 */
export function fileIoError(action: string, path: string, cause: unknown): AgentSecretsError {
  const code = errnoCode(cause);
  return new AgentSecretsError('FILE_IO', `cannot ${action} ${path}${codeSuffix(cause)}`, {
    hint:
      code === NOT_REGULAR
        ? NOT_REGULAR_HINT
        : code === 'EACCES' || code === 'EPERM'
          ? 'check that this user owns the file and its directory (the AgentSecrets home is meant to be 0700)'
          : code === 'ENOSPC'
            ? 'free some disk space and try again; the file was not changed'
            : 'check the path and its permissions; the file was not changed',
    cause,
  });
}
