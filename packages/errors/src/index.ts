/**
 * What kind of failure a code is. Boundaries map kinds, not codes: the CLI to an exit code, the proxy to an HTTP
 * status, the MCP server to an `isError` result. A new code only has to say which kind it is.
 */
export type ErrorKind = 'usage' | 'policy' | 'not_found' | 'upstream' | 'timeout' | 'auth' | 'failure';

/**
 * Every stable error code and its kind. Codes never change meaning once released; scripts and agents match on them.
 */
export const ERROR_CODES = {
  // usage: the caller asked for something malformed
  INVALID_ARGUMENT: 'usage',
  INVALID_URL: 'usage',
  INVALID_INJECTION: 'usage',
  INVALID_SECRET_NAME: 'usage',
  BODY_PATH_INVALID: 'usage',
  REQUEST_TOO_LARGE: 'usage',
  // policy: refused on purpose
  DOMAIN_NOT_ALLOWED: 'policy',
  USERINFO_REFUSED: 'policy',
  BINDING_VIOLATION: 'policy',
  INJECTION_NOT_ALLOWED: 'policy',
  SSRF_BLOCKED: 'policy',
  INSECURE_SCHEME: 'policy',
  NOT_RELEASABLE: 'policy',
  POLICY_SIGNATURE_INVALID: 'policy',
  KDF_PARAMS_TOO_WEAK: 'policy',
  REQUEST_REFUSED: 'policy',
  POLICY_ROLLBACK: 'policy',
  KEY_GRANT_INVALID: 'policy',
  ROSTER_INVALID: 'policy',
  // not found
  SECRET_NOT_FOUND: 'not_found',
  PROJECT_NOT_FOUND: 'not_found',
  NOT_SET_UP: 'not_found',
  PROXY_NOT_RUNNING: 'not_found',
  NOT_A_MEMBER: 'not_found',
  ROUTE_NOT_FOUND: 'not_found',
  // upstream and network
  UPSTREAM_UNREACHABLE: 'upstream',
  UPSTREAM_TLS: 'upstream',
  UPSTREAM_RESET: 'upstream',
  UPSTREAM_DNS: 'upstream',
  UPSTREAM_ENCODING_UNSUPPORTED: 'upstream',
  UPSTREAM_TIMEOUT: 'timeout',
  // auth, locked or unavailable vault
  VAULT_UNAVAILABLE: 'auth',
  VAULT_LOCKED: 'auth',
  PASSPHRASE_REQUIRED: 'auth',
  PASSPHRASE_INCORRECT: 'auth',
  UNAUTHORIZED: 'auth',
  // what the sync server answers (packages/sync lists the codes it may send; each is one of this table's)
  INVALID_CREDENTIALS: 'auth',
  TOKEN_REUSED: 'auth',
  RATE_LIMITED: 'policy',
  WORKSPACE_NOT_FOUND: 'not_found',
  INVITE_NOT_FOUND: 'not_found',
  SYNC_CONFLICT: 'failure',
  VERSION_CONFLICT: 'failure',
  // failures of our own or of stored data
  DECRYPT_FAILED: 'failure',
  ENVELOPE_INVALID: 'failure',
  SIGNATURE_INVALID: 'failure',
  CRYPTO_INVALID_INPUT: 'failure',
  VAULT_CORRUPT: 'failure',
  VAULT_BUSY: 'failure',
  CONFIG_INVALID: 'failure',
  AUDIT_EVENT_INVALID: 'failure',
  AUDIT_CHAIN_BROKEN: 'failure',
  AUDIT_IO: 'failure',
  HOME_IO: 'failure',
  FILE_IO: 'failure',
  FILE_BUSY: 'failure',
  PORT_IN_USE: 'failure',
  /** `agentsecrets run`: no OS sandbox can be made here (no bubblewrap, no user namespaces, not Linux). */
  SANDBOX_UNAVAILABLE: 'failure',
  INTERNAL_ERROR: 'failure',
  // the person stopped it, or the command it named is not there (exit codes of their own, as a shell gives)
  CANCELLED: 'usage',
  COMMAND_NOT_FOUND: 'not_found',
} as const satisfies Record<string, ErrorKind>;

/** A stable, SCREAMING_SNAKE error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options for {@link AgentSecretsError}. */
export interface AgentSecretsErrorOptions {
  /** What the person or model can do about it. Built from names and policy facts, never from a value. */
  readonly hint?: string;
  /** The underlying error. Kept for `--debug`; its text is never shown by default. */
  readonly cause?: unknown;
}

/**
 * The one error type every AgentSecrets package throws.
 *
 * The message names what went wrong in one line, built from key names and policy facts only: never from a secret
 * value, and never from a third-party error's text (which may quote a URL with a query string).
 *
 * @example
 * ```ts
 * throw new AgentSecretsError('DOMAIN_NOT_ALLOWED', 'api.evil.com is not on the allowlist', {
 *   hint: 'run `agentsecrets allowlist add api.evil.com` if it should be',
 * });
 * ```
 */
export class AgentSecretsError extends Error {
  override readonly name = 'AgentSecretsError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: AgentSecretsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  /** The kind of failure, which boundaries map to exit codes and HTTP statuses. */
  get kind(): ErrorKind {
    return ERROR_CODES[this.code];
  }

  /** The shape used in JSON error bodies and MCP results: code, message, hint. No cause, no stack. */
  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** True when `value` is an {@link AgentSecretsError}. */
export function isAgentSecretsError(value: unknown): value is AgentSecretsError {
  return value instanceof AgentSecretsError;
}

/**
 * Normalises anything thrown into an {@link AgentSecretsError}. An error that is not ours becomes `INTERNAL_ERROR`
 * with a message naming only its class: its own text is kept as `cause` but never shown, because it may quote a value.
 */
export function toAgentSecretsError(value: unknown): AgentSecretsError {
  if (value instanceof AgentSecretsError) return value;
  const kind = value instanceof Error ? value.constructor.name : typeof value;
  return new AgentSecretsError('INTERNAL_ERROR', `unexpected internal error (${kind})`, {
    hint: 'run again with --debug to see the cause, and report it if it persists',
    cause: value,
  });
}

const EXIT_CODES: Record<ErrorKind, number> = {
  failure: 1,
  usage: 2,
  policy: 3,
  not_found: 4,
  upstream: 5,
  timeout: 5,
  auth: 6,
};

const HTTP_STATUSES: Record<ErrorKind, number> = {
  failure: 500,
  usage: 400,
  policy: 403,
  not_found: 404,
  upstream: 502,
  timeout: 504,
  auth: 401,
};

// Codes whose exit code is the shell's rather than their kind's: Ctrl-C (128 + SIGINT) and a missing command.
const EXIT_CODE_OF_CODE: Partial<Record<ErrorCode, number>> = {
  CANCELLED: 130,
  COMMAND_NOT_FOUND: 127,
};

/**
 * The CLI exit code for an error code (SPEC.md §3): 1 failure, 2 usage, 3 policy, 4 not found, 5 upstream, 6 auth;
 * 130 for a prompt cancelled with Ctrl-C and 127 for a command that cannot be found, as a shell exits.
 */
export function exitCodeFor(code: ErrorCode): number {
  return EXIT_CODE_OF_CODE[code] ?? EXIT_CODES[ERROR_CODES[code]];
}

// Codes whose HTTP status is more precise than their kind's.
const HTTP_STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = {
  REQUEST_TOO_LARGE: 413,
  AUDIT_IO: 503,
  RATE_LIMITED: 429,
  SYNC_CONFLICT: 409,
  VERSION_CONFLICT: 409,
};

/** The HTTP status the proxy and the sync server answer with for an error code (SPEC.md §4). */
export function httpStatusFor(code: ErrorCode): number {
  return HTTP_STATUS_OF_CODE[code] ?? HTTP_STATUSES[ERROR_CODES[code]];
}
