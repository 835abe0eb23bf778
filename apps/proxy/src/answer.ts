// How both fronts of the proxy answer on their own (the /proxy routes in server.ts, the forward mode in forward/):
// a JSON body, and an error in protocol.ts's format.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { type AgentCallResponse, type AgentSecretsError, httpStatusFor } from '@agentsecrets/core';
import { formatError, isProtocolHeader, isRequestIdHeader, REDACTED } from './protocol.js';

/**
 * A cancel signal as undici takes one: it emits `abort`, and `aborted` stays set, so a call cancelled before the
 * upstream request is made (while it waits for DNS, say) is not made at all.
 */
class Cancel extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/**
 * The cancel signal of a call answered on `res` (see `CallRequest.signal`): it fires when the caller goes away before
 * the answer is complete, so a hanging upstream is not waited for until the headers timeout. An emitter rather than
 * an AbortController, whose signal costs more to make and to listen to than the rest of a call's setup.
 */
export function cancelledWith(res: ServerResponse): EventEmitter {
  const cancel = new Cancel();
  res.once('close', () => {
    if (!res.writableFinished) cancel.abort();
  });
  return cancel;
}

/**
 * Starts the answer to a call: the upstream's headers as the engine scanned them (a repeated one stays repeated),
 * whether any was redacted, and a caller that goes away stops the upstream transfer.
 */
export function startAnswer(res: ServerResponse, response: AgentCallResponse): void {
  res.on('close', () => {
    if (!res.writableFinished) response.body.destroy();
  });
  // An upstream's own protocol headers are not passed on: those names are the proxy's answer to its caller.
  for (const [name, value] of response.headers) if (!isProtocolHeader(name)) res.appendHeader(name, value);
  for (const [name, value] of Object.entries(REDACTED.format(response.headerRedactions > 0)))
    res.setHeader(name, value);
}

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
