import { AgentSecretsError, httpStatusFor } from '@agentsecrets/errors';
import { isSyncErrorCode, type SyncErrorBody, type SyncErrorCode } from '@agentsecrets/sync';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

/**
 * A refusal the server answers with: a code of the sync protocol (`SYNC_ERROR_CODES`, each one of the error table's),
 * whose HTTP status the table gives. The message is built from names and protocol facts, never from stored data.
 */
export class SyncRefusal extends AgentSecretsError {
  declare readonly code: SyncErrorCode;

  constructor(code: SyncErrorCode, message: string) {
    super(code, message);
  }
}

/** The body of every refusal. */
export function errorBody(code: SyncErrorCode, message: string): SyncErrorBody {
  return { error: { code, message } };
}

/**
 * The one place errors become answers: refusals with their table status, invalid input as INVALID_ARGUMENT, and
 * anything else as a bare INTERNAL_ERROR (its text may quote stored data, so it is never sent).
 */
export function handleError(
  error: Error & { statusCode?: number; code?: string },
  _req: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (error instanceof AgentSecretsError && isSyncErrorCode(error.code)) {
    return reply.status(httpStatusFor(error.code)).send(errorBody(error.code, error.message));
  }
  if (error instanceof z.ZodError) {
    const where = error.issues[0]?.path.join('.') || 'body';
    return reply.status(400).send(errorBody('INVALID_ARGUMENT', `invalid field: ${where}`));
  }
  // PostgreSQL data exceptions (class 22: a NUL in text, a value out of range) are bad input, not a fault.
  const pgDataError = typeof error.code === 'string' && /^22[0-9A-Z]{3}$/.test(error.code);
  // Fastify's own refusals (a malformed JSON body, a body over the limit) keep their 4xx status.
  const status = pgDataError ? 400 : error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
  const code = status === 413 ? 'REQUEST_TOO_LARGE' : status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL_ERROR';
  return reply
    .status(status)
    .send(errorBody(code, status < 500 ? 'the request was not understood' : 'internal error'));
}

/** An unknown route. */
export function handleNotFound(_req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.status(404).send(errorBody('ROUTE_NOT_FOUND', 'no such route'));
}
