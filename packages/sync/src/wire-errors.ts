import { AgentSecretsError, type ErrorCode } from '@agentsecrets/errors';
import { z } from 'zod';

/**
 * Every error code the sync server answers with. Each is a code of `@agentsecrets/errors`' one table, which gives its
 * HTTP status (`httpStatusFor`) on the server and its kind and exit code on the client. A client takes only these
 * codes from a server: anything else in an error body is a malformed answer.
 */
export const SYNC_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'REQUEST_TOO_LARGE',
  'ROUTE_NOT_FOUND',
  'UNAUTHORIZED',
  'INVALID_CREDENTIALS',
  'TOKEN_REUSED',
  'RATE_LIMITED',
  'REQUEST_REFUSED',
  'WORKSPACE_NOT_FOUND',
  'INVITE_NOT_FOUND',
  'SYNC_CONFLICT',
  'VERSION_CONFLICT',
  'INTERNAL_ERROR',
] as const satisfies readonly ErrorCode[];

/** A code the sync server may answer with. */
export type SyncErrorCode = (typeof SYNC_ERROR_CODES)[number];

const CODES: ReadonlySet<string> = new Set(SYNC_ERROR_CODES);

/** True when `code` is one the sync server may answer with. */
export function isSyncErrorCode(code: string): code is SyncErrorCode {
  return CODES.has(code);
}

/** Every refusal of the sync server: `{"error": {"code", "message"}}` (a push conflict adds `conflicts`). */
export const SyncErrorBodySchema = z.object({
  error: z.object({ code: z.string().max(64), message: z.string().max(1000) }),
});

/** The body of a refusal. */
export interface SyncErrorBody {
  readonly error: { readonly code: SyncErrorCode; readonly message: string };
}

// What the person (or model) reading the refusal can do about it.
const HINTS: Record<SyncErrorCode, string> = {
  INVALID_ARGUMENT: 'this client and the server may disagree on the protocol; see the server logs',
  REQUEST_TOO_LARGE: 'push fewer secrets at once, or smaller values',
  ROUTE_NOT_FOUND: 'check AGENTSECRETS_SERVER points at an AgentSecrets sync server of this version',
  UNAUTHORIZED: 'run `agentsecrets login` again',
  INVALID_CREDENTIALS: 'check both and try again',
  TOKEN_REUSED:
    'run `agentsecrets login` again; if no other device of yours used this session, someone copied it',
  RATE_LIMITED: 'wait a minute and try again',
  REQUEST_REFUSED: 'an admin of the workspace can do it',
  WORKSPACE_NOT_FOUND: 'see `agentsecrets workspace list`',
  INVITE_NOT_FOUND: 'an admin invites the email first, and the invitee runs `agentsecrets workspace list`',
  SYNC_CONFLICT: 'someone changed the workspace meanwhile; run the command again',
  VERSION_CONFLICT: 'pull, then push again',
  INTERNAL_ERROR: 'see the server logs',
};

// Control and format characters (terminal escapes, bidi overrides) never reach a terminal from a server's text.
const UNPRINTABLE = /[\p{Cc}\p{Cf}]/gu;

/**
 * The error a client raises for a refusal: the server's code when it is one of {@link SYNC_ERROR_CODES} (never
 * guessed from the HTTP status), else UPSTREAM_RESET. The server's message is shown cut short and printable only.
 */
export function syncErrorFrom(body: unknown, what: string): AgentSecretsError {
  const parsed = SyncErrorBodySchema.safeParse(body);
  if (!parsed.success || !isSyncErrorCode(parsed.data.error.code)) {
    return new AgentSecretsError(
      'UPSTREAM_RESET',
      `the sync server answered ${what} with no error it may send`,
      {
        hint: 'check AGENTSECRETS_SERVER points at an AgentSecrets sync server; nothing in the answer was used',
      },
    );
  }
  const { code, message } = parsed.data.error;
  return new AgentSecretsError(
    code,
    `the sync server refused: ${message.replace(UNPRINTABLE, '').slice(0, 200)}`,
    {
      hint: HINTS[code],
    },
  );
}
