/**
 * The proxy's wire protocol (SPEC.md §4), defined once: every `X-AS-*` header name, the routes, and each thing
 * that crosses the wire as a format/parse pair — the request head with its injection specs, the session token, the
 * error header and body, and the redaction header and trailer. The server (server.ts) parses what the client
 * (client.ts) formats; nothing else in the code base spells an `X-AS-` name.
 */
// From the light entries, not the core: the client (client.ts) formats what this module defines without loading it.
import type { Transport } from '@agentsecrets/core';
import { AgentSecretsError, ERROR_CODES, type ErrorCode } from '@agentsecrets/errors';
import {
  createInjectionSpec,
  formatInjectionSpec,
  type InjectionSpec,
  type InjectionStyle,
  parseInjectionSpec,
  validateInjections,
} from '@agentsecrets/injection/spec';

/** Header names as written on the wire; compare them lower-cased (HTTP header names are case-insensitive). */
export const PROXY_HEADERS = {
  sessionToken: 'X-AS-Session-Token',
  targetUrl: 'X-AS-Target-URL',
  method: 'X-AS-Method',
  agentId: 'X-AS-Agent-ID',
  transport: 'X-AS-Transport',
  inject: 'X-AS-Inject',
  error: 'X-AS-Error',
  requestId: 'X-AS-Request-Id',
  redacted: 'X-AS-Redacted',
} as const;

const PREFIX = 'x-as-';
const INJECT_PREFIX = 'x-as-inject-';
const lower = (name: string) => name.toLowerCase();
const REQUEST_ID = lower(PROXY_HEADERS.requestId);

/** The proxy's routes. `/health` answers without a token; `/session` is the cheap authenticated check. */
export const PROXY_ROUTES = {
  proxy: '/proxy',
  health: '/health',
  session: '/session',
  status: '/status',
  secrets: '/secrets',
  secretsDiff: '/secrets/diff',
  vault: '/vault',
  unlock: '/unlock',
  lock: '/lock',
} as const;

/** A hint naming how to call the proxy, for errors about its routes. */
export const PROXY_USAGE_HINT = `send requests to ${PROXY_ROUTES.proxy} with ${PROXY_HEADERS.targetUrl}`;

/** A request target made of plain segments (letters, digits, `-`, `_`), which a URL parser leaves as it is. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_-]+)+$/;

/**
 * The route a request target asks for: its path, as a URL parser reads it (dot segments resolved, the query left
 * off). A plain path is its own (no parser is made for it: every request pays this). Throws INVALID_ARGUMENT for a
 * target no URL parser accepts.
 */
export function routeOf(target: string): string {
  if (PLAIN_PATH.test(target)) return target;
  try {
    return new URL(target, 'http://proxy').pathname;
  } catch {
    throw new AgentSecretsError('INVALID_ARGUMENT', 'the request target is not a valid path', {
      hint: PROXY_USAGE_HINT,
    });
  }
}

/**
 * Whether a header belongs to the protocol (or to the proxy hop): such a header is a directive to the proxy, so a
 * caller's header of that name is never forwarded upstream, never taken as a directive, and never injected into.
 */
export function isProtocolHeader(name: string): boolean {
  const l = lower(name);
  return l.startsWith(PREFIX) || l === 'proxy-authorization';
}

/** The caller's own headers of a request: every header but the protocol's. */
export function callerHeaders(pairs: Iterable<readonly [string, string]>): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of pairs) if (!isProtocolHeader(name)) out.push([name, value]);
  return out;
}

/**
 * Refuses an injection into a protocol header: it would be read as a directive by a proxy, not carried upstream.
 * Applied to every call a credential client makes, through the proxy or not, so both ways behave alike.
 */
export function checkInjectionTargets(specs: readonly InjectionSpec[]): void {
  for (const spec of specs) {
    if (spec.style === 'header' && spec.target !== undefined && isProtocolHeader(spec.target)) {
      throw new AgentSecretsError(
        'INVALID_INJECTION',
        `the ${spec.target} header cannot carry a credential`,
        {
          hint: 'inject into another header',
        },
      );
    }
  }
}

// --- the session token ---------------------------------------------------------------------------------------

/** The headers that present a session token (none for a proxy started with `--no-auth`). */
export function formatSessionToken(token: string | null): Record<string, string> {
  return token === null ? {} : { [lower(PROXY_HEADERS.sessionToken)]: token };
}

/** The session token a request presents, as `X-AS-Session-Token` or `Proxy-Authorization: Bearer …`. */
export function parseSessionToken(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string | undefined {
  const given =
    first(headers[lower(PROXY_HEADERS.sessionToken)]) ??
    /^Bearer\s+(.+)$/i.exec(first(headers['proxy-authorization']) ?? '')?.[1];
  return given?.trim();
}

/** The error for a missing or wrong session token. */
export function unauthorized(): AgentSecretsError {
  return new AgentSecretsError('UNAUTHORIZED', 'missing or wrong proxy session token', {
    hint: `send ${PROXY_HEADERS.sessionToken} with the value of \`agentsecrets proxy token\``,
  });
}

// --- injection specs -----------------------------------------------------------------------------------------

const TARGETED_STYLES: Readonly<Record<string, InjectionStyle>> = {
  header: 'header',
  query: 'query',
  body: 'body',
  form: 'form',
};

/** The `X-AS-Inject` value carrying injection specs: `style[:target]=KEY, …`. */
export function formatInjections(specs: readonly InjectionSpec[]): string {
  return specs.map(formatInjectionSpec).join(', ');
}

/**
 * Reads the injections of a request from its raw header list (name, value pairs as received, e.g. node's
 * `req.rawHeaders`). Names after `X-AS-Inject-<Style>-` are taken as sent on the wire, never re-cased;
 * `X-AS-Inject: style:target=KEY` (repeatable, comma-separated) carries names a header name cannot.
 */
export function parseInjections(rawHeaders: readonly string[]): InjectionSpec[] {
  const specs: InjectionSpec[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!.trim();
    const l = lower(name);
    if (l === lower(PROXY_HEADERS.inject)) {
      for (const part of value.split(',')) {
        if (part.trim() !== '') specs.push(parseInjectionSpec(part.trim()));
      }
      continue;
    }
    if (!l.startsWith(INJECT_PREFIX)) continue;
    const rest = name.slice(INJECT_PREFIX.length);
    const restLower = lower(rest);
    if (restLower === 'bearer' || restLower === 'basic') {
      specs.push(createInjectionSpec(restLower, undefined, value));
      continue;
    }
    const dash = rest.indexOf('-');
    const style = dash < 0 ? undefined : TARGETED_STYLES[restLower.slice(0, dash)];
    if (style === undefined) {
      throw new AgentSecretsError('INVALID_INJECTION', `unknown injection header ${shown(name)}`, {
        hint: 'use X-AS-Inject-Bearer, -Basic, -Header-<Name>, -Query-<param>, -Body-<path>, -Form-<field>',
      });
    }
    specs.push(createInjectionSpec(style, rest.slice(dash + 1), value));
  }
  const valid = validateInjections(specs);
  checkInjectionTargets(valid);
  return valid;
}

// --- the request head ----------------------------------------------------------------------------------------

export const AGENT_ID = /^[A-Za-z0-9_.:@/-]{1,128}$/;
const TRANSPORTS: readonly Transport[] = ['proxy', 'cli', 'mcp'];

/** What a client asks of the proxy in one `/proxy` request, besides its body. */
export interface ProxyRequestHead {
  readonly url: string;
  readonly method: string;
  readonly injections: readonly InjectionSpec[];
  /** The caller's own headers, forwarded upstream. */
  readonly headers: readonly [string, string][];
  /** The caller's word for which transport and agent it is (recorded as claims, not checked). */
  readonly transport?: Transport;
  readonly agentId?: string;
}

/** The headers of a `/proxy` request for `head` (a null-prototype record: a header named `__proto__` is a header). */
export function formatRequestHead(head: ProxyRequestHead): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of callerHeaders(head.headers)) {
    const l = lower(name);
    const prev = headers[l];
    headers[l] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  headers[lower(PROXY_HEADERS.targetUrl)] = head.url;
  headers[lower(PROXY_HEADERS.method)] = head.method.toUpperCase();
  if (head.transport !== undefined) headers[lower(PROXY_HEADERS.transport)] = head.transport;
  if (head.agentId !== undefined) headers[lower(PROXY_HEADERS.agentId)] = head.agentId;
  if (head.injections.length > 0) headers[lower(PROXY_HEADERS.inject)] = formatInjections(head.injections);
  return headers;
}

/**
 * Reads a `/proxy` request's head from its raw headers (as received, names unchanged) and request method. Throws
 * INVALID_ARGUMENT or INVALID_INJECTION on what is missing or malformed.
 */
export function parseRequestHead(
  rawHeaders: readonly string[],
  requestMethod: string | undefined,
): ProxyRequestHead {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) pairs.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  const get = (name: string) => pairs.find(([n]) => lower(n) === lower(name))?.[1];
  const url = get(PROXY_HEADERS.targetUrl);
  if (url === undefined || url === '') {
    throw new AgentSecretsError('INVALID_ARGUMENT', `${PROXY_HEADERS.targetUrl} is missing`, {
      hint: `send the destination in ${PROXY_HEADERS.targetUrl}, e.g. https://api.stripe.com/v1/balance`,
    });
  }
  const agentId = get(PROXY_HEADERS.agentId);
  if (agentId !== undefined && !AGENT_ID.test(agentId)) {
    throw new AgentSecretsError(
      'INVALID_ARGUMENT',
      `${PROXY_HEADERS.agentId} must be 1-128 of A-Z a-z 0-9 _ . : @ / -`,
      { hint: 'send a short identifier of the agent' },
    );
  }
  const requested = get(PROXY_HEADERS.transport) as Transport | undefined;
  const transport = requested !== undefined && TRANSPORTS.includes(requested) ? requested : undefined;
  return {
    url,
    method: get(PROXY_HEADERS.method) ?? requestMethod ?? 'GET',
    injections: parseInjections(rawHeaders),
    headers: callerHeaders(pairs),
    ...(transport === undefined ? {} : { transport }),
    ...(agentId === undefined ? {} : { agentId }),
  };
}

// --- the answer ----------------------------------------------------------------------------------------------

// `trailer` announces the proxy's own redaction trailer (read by REDACTED.parse), not anything of the upstream's.
const HOP_BY_HOP = new Set(['transfer-encoding', 'connection', 'keep-alive', 'trailer']);

/** The upstream's headers in a proxy answer: every header but the protocol's and the hop's. */
export function upstreamHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isProtocolHeader(name) || HOP_BY_HOP.has(lower(name))) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}

/** The request id header of every answer. */
export function formatRequestId(id: string): readonly [string, string] {
  return [REQUEST_ID, id];
}

/** Whether a header is the request id (kept when an answer is replaced by an error). */
export function isRequestIdHeader(name: string): boolean {
  return lower(name) === lower(PROXY_HEADERS.requestId);
}

/**
 * The redaction flag: sent as a header (for redactions in the response headers) and, once the body is done, as a
 * trailer (the final answer; the body is scanned after the headers are sent).
 */
export const REDACTED = {
  /** The value of the `Trailer` header that announces the flag. */
  trailerDeclaration: PROXY_HEADERS.redacted,
  format(redacted: boolean): Record<string, string> {
    return { [PROXY_HEADERS.redacted]: String(redacted) };
  },
  /** True when either the header or the trailer says something was redacted. */
  parse(
    headers: Readonly<Record<string, string | string[] | undefined>>,
    trailers: Readonly<Record<string, string | string[] | undefined>>,
  ): boolean {
    const name = lower(PROXY_HEADERS.redacted);
    return first(headers[name]) === 'true' || first(trailers[name]) === 'true';
  },
} as const;

/** An error of the proxy's own, as sent: its HTTP status is the caller's (httpStatusFor), these are the rest. */
export function formatError(error: AgentSecretsError): { headers: Record<string, string>; body: string } {
  return {
    headers: { [lower(PROXY_HEADERS.error)]: error.code },
    body: JSON.stringify({ error: error.toJSON() }),
  };
}

/**
 * The proxy's own error in an answer, or undefined when the answer is the upstream's (whatever its status). An
 * unknown code becomes INTERNAL_ERROR; message and hint are the proxy's, built from names, never from values.
 */
export function parseError(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: Buffer,
): AgentSecretsError | undefined {
  const code = first(headers[lower(PROXY_HEADERS.error)]);
  if (code === undefined) return undefined;
  let parsed: { error?: { code?: unknown; message?: unknown; hint?: unknown } } = {};
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    // fall through to the generic message
  }
  const known = typeof parsed.error?.code === 'string' ? parsed.error.code : code;
  return new AgentSecretsError(
    Object.hasOwn(ERROR_CODES, known) ? (known as ErrorCode) : 'INTERNAL_ERROR',
    typeof parsed.error?.message === 'string'
      ? parsed.error.message
      : `the proxy refused the request (${code})`,
    { hint: typeof parsed.error?.hint === 'string' ? parsed.error.hint : '' },
  );
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A bounded, printable piece of a header name for a message. */
function shown(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 61)}...` : clean;
}
