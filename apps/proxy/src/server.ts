import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AgentSecrets,
  AgentSecretsError,
  constantTimeEqual,
  httpStatusFor,
  PROXY_ERROR_HEADER,
  parseProxyInjections,
  randomId,
  randomToken,
  type Transport,
  toAgentSecretsError,
} from '@agentsecrets/core';
import { capConnections, defaultConnectionCap } from './connections.js';
import { createForwardProxy, type ForwardProxy } from './forward/front.js';
import { RUNS_ROUTE } from './forward/wire.js';

/** Options of {@link startProxyServer}. */
export interface ProxyServerOptions {
  readonly core: AgentSecrets;
  /** Default 127.0.0.1. Anything that is not loopback exposes the proxy to the network. */
  readonly host?: string;
  /** Default 8765; 0 picks a free port. */
  readonly port?: number;
  /** The session token clients must present; `null` turns authentication off (`--no-auth`). Default: a new one. */
  readonly token?: string | null;
  /** Client connections held at once (see {@link capConnections}). Default: from the open-file limit, at most 4,096. */
  readonly maxConnections?: number;
  /** Largest request body accepted, in bytes; a declared larger one is answered 413 before anything is sent. */
  readonly maxRequestBodyBytes?: number;
}

/** A proxy that is listening. */
export interface RunningProxy {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly token: string | null;
  readonly server: Server;
  /** Stops accepting, lets in-flight requests finish, then closes the core. */
  close(): Promise<void>;
}

/** The engine's default body limit (10 MiB); a larger declared Content-Length is refused up front. */
const DEFAULT_MAX_BODY = 10 * 1024 * 1024;
const AGENT_ID = /^[A-Za-z0-9_.:@/-]{1,128}$/;
const TRANSPORTS: readonly Transport[] = ['proxy', 'cli', 'mcp'];

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function refused(message: string, hint: string): AgentSecretsError {
  return new AgentSecretsError('REQUEST_REFUSED', message, { hint });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: AgentSecretsError): void {
  if (res.headersSent || res.destroyed) {
    // Mid-body: the only honest signal left is an aborted response.
    res.destroy();
    return;
  }
  try {
    // Headers set for an answer that never went out (the trailer declaration among them) must not ride on this one.
    for (const name of res.getHeaderNames()) if (name !== 'x-as-request-id') res.removeHeader(name);
    sendJson(res, httpStatusFor(error.code), { error: error.toJSON() }, { [PROXY_ERROR_HEADER]: error.code });
  } catch {
    res.destroy();
  }
}

/** The path of a request target; a target no URL parser accepts is the client's error, answered 400. */
function routeOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://proxy').pathname;
  } catch {
    throw new AgentSecretsError('INVALID_ARGUMENT', 'the request target is not a valid path', {
      hint: 'send requests to /proxy with X-AS-Target-URL',
    });
  }
}

/**
 * Whether the answer to `req` can carry a trailer: only a chunked body can, and Node throws on a declared trailer
 * otherwise — for HEAD, for 1xx/204/304 (no body) and for HTTP/1.0 clients (no chunked encoding).
 */
function canTrail(req: IncomingMessage, status: number): boolean {
  const http11 = req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);
  return http11 && req.method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304;
}

/**
 * Checks that a request comes from a local program and not from a web page: DNS rebinding puts an attacker's name
 * in Host, and a page's fetch carries Origin or Sec-Fetch-Site. Only IP literals and `localhost` are accepted as the
 * Host name, with the proxy's own port.
 */
function checkCaller(req: IncomingMessage, port: number): void {
  const host = header(req, 'host') ?? '';
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  const name = match?.[1]?.replace(/^\[|\]$/g, '').toLowerCase() ?? '';
  const hostPort = Number(match?.[2] ?? 80);
  const nameOk = name === 'localhost' || /^[0-9.]+$/.test(name) || name.includes(':');
  if (!nameOk || hostPort !== port) {
    throw refused(
      'the Host header does not name this proxy',
      `address the proxy as http://127.0.0.1:${port}`,
    );
  }
  if (req.headers.origin !== undefined) {
    throw refused(
      'requests from web pages (with an Origin header) are refused',
      'call the proxy from a local program',
    );
  }
  const site = header(req, 'sec-fetch-site');
  if (site === 'cross-site' || site === 'same-site') {
    throw refused('cross-site browser requests are refused', 'call the proxy from a local program');
  }
}

function checkToken(req: IncomingMessage, token: string | null): void {
  if (token === null) return;
  const given =
    header(req, 'x-as-session-token') ??
    /^Bearer\s+(.+)$/i.exec(header(req, 'proxy-authorization') ?? '')?.[1];
  if (given === undefined || !constantTimeEqual(given.trim(), token)) {
    throw new AgentSecretsError('UNAUTHORIZED', 'missing or wrong proxy session token', {
      hint: 'send X-AS-Session-Token with the value of `agentsecrets proxy token`',
    });
  }
}

async function forward(
  core: AgentSecrets,
  req: IncomingMessage,
  res: ServerResponse,
  maxBody: number,
): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBody) {
    // Refused before a byte is read or sent; the connection closes, as the body will not be read.
    res.shouldKeepAlive = false;
    throw new AgentSecretsError('REQUEST_TOO_LARGE', `the request body is larger than ${maxBody} bytes`, {
      hint: 'send a smaller body',
    });
  }
  const url = header(req, 'x-as-target-url');
  if (url === undefined || url === '') {
    throw new AgentSecretsError('INVALID_ARGUMENT', 'X-AS-Target-URL is missing', {
      hint: 'send the destination in X-AS-Target-URL, e.g. https://api.stripe.com/v1/balance',
    });
  }
  const agentId = header(req, 'x-as-agent-id');
  if (agentId !== undefined && !AGENT_ID.test(agentId)) {
    throw new AgentSecretsError(
      'INVALID_ARGUMENT',
      'X-AS-Agent-ID must be 1-128 of A-Z a-z 0-9 _ . : @ / -',
      {
        hint: 'send a short identifier of the agent',
      },
    );
  }
  // The caller's word for which transport and agent it is: recorded as a claim. What the proxy knows is that the
  // call came in through the proxy; who sent it is anyone holding the session token.
  const requested = header(req, 'x-as-transport') as Transport | undefined;
  const claimedTransport = requested !== undefined && TRANSPORTS.includes(requested) ? requested : undefined;
  const method = header(req, 'x-as-method') ?? req.method ?? 'GET';
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  const hasBody =
    req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  // A caller that goes away before the answer starts cancels the upstream call too (a hanging upstream would
  // otherwise hold it until the headers timeout).
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const response = await core.call({
    signal: gone.signal,
    url,
    method,
    headers,
    injections: parseProxyInjections(req.rawHeaders),
    transport: 'proxy',
    claims: {
      ...(claimedTransport === undefined ? {} : { transport: claimedTransport }),
      ...(agentId === undefined ? {} : { agentId }),
    },
    ...(hasBody ? { body: req } : {}),
  });
  // A caller that goes away stops the upstream transfer too.
  res.on('close', () => {
    if (!res.writableFinished) response.body.destroy();
  });
  const grouped = new Map<string, string[]>();
  for (const [name, value] of response.headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  for (const [name, values] of grouped) res.setHeader(name, values.length === 1 ? values[0]! : values);
  // Headers are scanned before they are sent; the body is scanned while it streams, so the final answer comes
  // as a trailer once the body is done.
  res.setHeader('x-as-redacted', String(response.headerRedactions > 0));
  const trailer = canTrail(req, response.status);
  if (trailer) res.setHeader('trailer', 'X-AS-Redacted');
  res.writeHead(response.status);
  // The status line and headers go out now: the body may be held back a while (see the redactor's release rule).
  res.flushHeaders();
  response.body.on('error', (e: unknown) => sendError(res, toAgentSecretsError(e)));
  response.body.on('end', () => {
    // Not held back for the audit event: waiting for the append would put a lock and a write on every call's
    // latency. An event that cannot be written is kept and retried, and no further call goes out until it is.
    if (trailer) res.addTrailers({ 'X-AS-Redacted': String(response.redactions() > 0) });
    res.end();
  });
  response.body.pipe(res, { end: false });
}

/**
 * Starts the HTTP proxy of SPEC.md §4 on the core engine. Routes: `GET /health` (no auth), `ANY /proxy`, and for
 * the CLI and MCP server `GET /status` and `GET /secrets` (names and policy, never values).
 */
export async function startProxyServer(options: ProxyServerOptions): Promise<RunningProxy> {
  const { core } = options;
  const host = options.host ?? '127.0.0.1';
  const token = options.token === undefined ? randomToken() : options.token;
  let port = options.port ?? 8765;
  // Request ids: a random per-process prefix and a counter — unique, and cheaper than 128 random bits per request.
  const idPrefix = randomId('req');
  const maxBody = options.maxRequestBodyBytes ?? DEFAULT_MAX_BODY;
  let requests = 0;
  // `agentsecrets run` (SPEC §8): absolute-URI requests and CONNECT from sandboxed agents, authenticated per run.
  let forwardMode: ForwardProxy | undefined;
  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    requests += 1;
    res.setHeader('x-as-request-id', `${idPrefix}.${requests.toString(36)}`);
    if (forwardMode?.isForwardRequest(req)) {
      forwardMode.request(req, res);
      return;
    }
    (async () => {
      const path = routeOf(req);
      checkCaller(req, port);
      if (path === '/health' && req.method === 'GET') {
        sendJson(res, 200, { status: 'ok' });
        return;
      }
      checkToken(req, token);
      if (path === '/proxy') await forward(core, req, res, maxBody);
      else if (path === '/status' && req.method === 'GET') sendJson(res, 200, await core.status());
      else if (path === '/secrets' && req.method === 'GET') sendJson(res, 200, await core.listSecrets());
      else if (forwardMode !== undefined && (path === RUNS_ROUTE || path.startsWith(`${RUNS_ROUTE}/`)))
        await forwardMode.route(path, req, res);
      else {
        throw new AgentSecretsError('ROUTE_NOT_FOUND', 'no such route on the proxy', {
          hint: 'send requests to /proxy with X-AS-Target-URL',
        });
      }
    })().catch((e: unknown) => sendError(res, toAgentSecretsError(e)));
  });
  // A request head must arrive within 10 s (checked every second), so slow heads cannot hold connections for long;
  // bodies and answers may stream for as long as they flow. Idle keep-alive connections close after 5 s.
  const forwardProxy = createForwardProxy({ core, server, maxBodyBytes: maxBody });
  forwardMode = forwardProxy;
  server.on('connect', forwardProxy.connect);
  server.headersTimeout = 10_000;
  server.requestTimeout = 0;
  server.keepAliveTimeout = 5_000;
  // A connection on which nothing moves for two minutes — a client that stopped reading its answer, an upload that
  // stalled — is closed; upstream silence is bounded by the engine's own idle timeout (60 s) well before this.
  server.timeout = 120_000;
  capConnections(server, options.maxConnections ?? defaultConnectionCap());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new AgentSecretsError('INVALID_ARGUMENT', `port ${port} on ${host} is already in use`, {
              hint: 'stop what uses it, or start the proxy with --port',
            })
          : e,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${urlHost}:${port}`,
    token,
    server,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        forwardProxy.close();
      }).then(() => core.close());
      return closing;
    },
  };
}
