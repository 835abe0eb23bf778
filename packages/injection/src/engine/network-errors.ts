import { AgentSecretsError, type ErrorCode } from '@agentsecrets/errors';

interface CodedError {
  code?: unknown;
  name?: unknown;
  cause?: unknown;
}

const BY_CODE: Readonly<Record<string, [ErrorCode, string]>> = {
  UND_ERR_CONNECT_TIMEOUT: ['UPSTREAM_TIMEOUT', 'timed out connecting to'],
  UND_ERR_HEADERS_TIMEOUT: ['UPSTREAM_TIMEOUT', 'timed out waiting for the response headers of'],
  UND_ERR_BODY_TIMEOUT: ['UPSTREAM_TIMEOUT', 'timed out waiting for more of the response body of'],
  ETIMEDOUT: ['UPSTREAM_TIMEOUT', 'timed out connecting to'],
  ECONNREFUSED: ['UPSTREAM_UNREACHABLE', 'connection refused by'],
  EHOSTUNREACH: ['UPSTREAM_UNREACHABLE', 'no route to'],
  ENETUNREACH: ['UPSTREAM_UNREACHABLE', 'network unreachable for'],
  ENOTFOUND: ['UPSTREAM_DNS', 'could not resolve the name of'],
  EAI_AGAIN: ['UPSTREAM_DNS', 'could not resolve the name of'],
  ENODATA: ['UPSTREAM_DNS', 'could not resolve the name of'],
  ECONNRESET: ['UPSTREAM_RESET', 'connection reset by'],
  EPIPE: ['UPSTREAM_RESET', 'connection closed by'],
  UND_ERR_SOCKET: ['UPSTREAM_RESET', 'connection closed by'],
  UND_ERR_CLOSED: ['UPSTREAM_RESET', 'connection closed by'],
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: ['UPSTREAM_RESET', 'incomplete response from'],
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: ['INVALID_ARGUMENT', 'request body length does not match for'],
  UND_ERR_RES_EXCEEDED_MAX_SIZE: ['UPSTREAM_RESET', 'response too large from'],
  Z_DATA_ERROR: ['UPSTREAM_RESET', 'undecodable compressed response from'],
  Z_BUF_ERROR: ['UPSTREAM_RESET', 'truncated compressed response from'],
  ERR__ERROR_FORMAT_PADDING_1: ['UPSTREAM_RESET', 'undecodable compressed response from'],
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  UPSTREAM_TIMEOUT: 'the service did not answer in time; try again later or raise the timeout',
  UPSTREAM_UNREACHABLE: 'check that the service is up and the URL and port are right',
  UPSTREAM_DNS: 'check the host name in the URL',
  UPSTREAM_RESET: 'the service closed the connection; try again',
  UPSTREAM_TLS: 'the service presented a certificate that could not be verified for this host',
};

function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
  );
}

/** Walks an error and its causes (undici wraps socket errors) looking for ours or a known code. */
function* chain(error: unknown): Generator<CodedError> {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth += 1) {
    yield current as CodedError;
    current = (current as CodedError).cause;
  }
}

/**
 * Turns whatever the network layer threw into an error that is safe to show. Third-party text is never kept in the
 * message (undici errors quote URLs, query strings included): the message is built from the error code and the
 * destination's origin only. An {@link AgentSecretsError} raised inside the stack (the SSRF guard in DNS lookup) comes
 * back as it was.
 */
export function mapNetworkError(error: unknown, origin: string): AgentSecretsError {
  for (const link of chain(error)) {
    if (link instanceof AgentSecretsError) return link;
  }
  for (const link of chain(error)) {
    const code = typeof link.code === 'string' ? link.code : undefined;
    if (code === undefined) continue;
    const known = BY_CODE[code];
    if (known !== undefined) {
      const [errorCode, phrase] = known;
      return new AgentSecretsError(errorCode, `${phrase} ${origin}`, {
        hint: HINTS[errorCode] ?? '',
        cause: error,
      });
    }
    if (isTlsCode(code)) {
      return new AgentSecretsError('UPSTREAM_TLS', `TLS failed with ${origin} (${code})`, {
        hint: HINTS.UPSTREAM_TLS ?? '',
        cause: error,
      });
    }
  }
  for (const link of chain(error)) {
    if (link.name === 'AbortError' || link.code === 'ABORT_ERR' || link.code === 'UND_ERR_ABORTED') {
      return new AgentSecretsError('UPSTREAM_RESET', `the request to ${origin} was aborted`, {
        hint: 'the caller went away before the response was complete',
        cause: error,
      });
    }
  }
  return new AgentSecretsError('UPSTREAM_UNREACHABLE', `the request to ${origin} failed`, {
    hint: 'run again with --debug for the underlying error',
    cause: error,
  });
}
