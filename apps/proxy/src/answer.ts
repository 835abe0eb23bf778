// How both fronts of the proxy answer on their own (the /proxy routes in server.ts, the forward mode in forward/):
// a JSON body, and an error in protocol.ts's format.
import type { ServerResponse } from 'node:http';
import { type AgentSecretsError, httpStatusFor } from '@agentsecrets/core';
import { formatError, isRequestIdHeader } from './protocol.js';

/** A JSON answer with `status` and any `extra` headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  sendText(res, status, JSON.stringify(body), extra);
}

function sendText(res: ServerResponse, status: number, text: string, extra: Record<string, string>): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

/** The proxy's own error, with the status of its code unless `status` is given (421 in a terminated tunnel). */
export function sendError(
  res: ServerResponse,
  error: AgentSecretsError,
  status = httpStatusFor(error.code),
): void {
  if (res.headersSent || res.destroyed) {
    // Mid-body: the only honest signal left is an aborted response.
    res.destroy();
    return;
  }
  try {
    // Headers set for an answer that never went out (the trailer declaration among them) must not ride on this one.
    for (const name of res.getHeaderNames()) if (!isRequestIdHeader(name)) res.removeHeader(name);
    const { headers, body } = formatError(error);
    sendText(res, status, body, headers);
  } catch {
    res.destroy();
  }
}
