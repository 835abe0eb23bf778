import { AgentSecretsError } from '@agentsecrets/errors';
import { codeSuffix, errnoCode, fileIoError, NOT_REGULAR } from '@agentsecrets/fs';

/** The log's I/O failures: `AUDIT_IO`, naming the file and the errno code, never an event's content. */
export function ioError(action: string, path: string, cause: unknown): AgentSecretsError {
  const { message, hint } = fileIoError(`${action} the audit log`, path, cause);
  return new AgentSecretsError('AUDIT_IO', message, { ...(hint === undefined ? {} : { hint }), cause });
}

/** Events kept unwritten: calls are refused until they are written. */
export function owedError(path: string, owed: number, cause: unknown): AgentSecretsError {
  return new AgentSecretsError(
    'AUDIT_IO',
    `${owed} audit event${owed === 1 ? '' : 's'} could not be written to ${path}${ioCode(cause)}; calls are refused until they are`,
    {
      hint: 'free disk space or fix the permissions of the AgentSecrets home; the events are written as soon as it works',
      cause,
    },
  );
}

/** ` (ENOSPC)`, ` (not a regular file)`: the first system error in `cause`'s chain, as it reads in a message. */
export function ioCode(cause: unknown): string {
  for (let cur = cause, depth = 0; cur !== undefined && cur !== null && depth < 8; depth += 1) {
    const code = errnoCode(cur);
    // Our own codes (FILE_BUSY, …) are not shown: they name no cause a user can act on.
    if (code === NOT_REGULAR || /^E[A-Z]+$/.test(code ?? '')) return codeSuffix(cur);
    cur = (cur as { cause?: unknown }).cause;
  }
  return '';
}

/** Whether `e`, or an error it was caused by, is a system error with this code. */
export function causedBy(e: unknown, code: string): boolean {
  for (let cur = e, depth = 0; cur !== undefined && cur !== null && depth < 8; depth += 1) {
    if ((cur as NodeJS.ErrnoException).code === code) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
