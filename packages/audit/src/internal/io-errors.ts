import { AgentSecretsError } from '@agentsecrets/errors';

/** The log's I/O failures: `AUDIT_IO`, naming the file and the errno code, never an event's content. */
export function ioError(action: string, path: string, cause: unknown): AgentSecretsError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new AgentSecretsError(
    'AUDIT_IO',
    `cannot ${action} the audit log ${path}${code ? ` (${code})` : ''}`,
    {
      hint: 'check the permissions of the AgentSecrets home and free disk space',
      cause,
    },
  );
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

function ioCode(cause: unknown): string {
  const code =
    (cause as NodeJS.ErrnoException | undefined)?.code ??
    (cause as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? ` (${code})` : '';
}

/** Whether `e`, or an error it was caused by, is a system error with this code. */
export function causedBy(e: unknown, code: string): boolean {
  for (let cur = e, depth = 0; cur !== undefined && cur !== null && depth < 8; depth += 1) {
    if ((cur as NodeJS.ErrnoException).code === code) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
