import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AgentSecrets,
  AgentSecretsError,
  type ProxyInfo,
  randomId,
  randomToken,
  toAgentSecretsError,
} from '@agentsecrets/core';
import { cancelledWith, sendError, sendJson, startAnswer } from './answer.js';
import { capConnections, defaultConnectionCap } from './connections.js';
import { createForwardProxy, type ForwardProxy } from './forward/front.js';
import { RUNS_ROUTE } from './forward/wire.js';
import {
  formatRequestId,
  PROXY_ROUTES,
  PROXY_USAGE_HINT,
  parseRequestHead,
  parseSessionToken,
  REDACTED,
  routeOf,
  unauthorized,
} from './protocol.js';
import { proxyUrl } from './state.js';
import { VaultGate } from './vault-gate.js';

/** Options of {@link startProxyServer}. */
export interface ProxyServerOptions {
  /** The opened core; or give `gate` for a proxy whose vault can be locked and unlocked while it runs. */
  readonly core?: AgentSecrets;
  readonly gate?: VaultGate;
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

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function refused(message: string, hint: string): AgentSecretsError {
  return new AgentSecretsError('REQUEST_REFUSED', message, { hint });
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

/**
 * A check of the session token. The presented bytes are compared with the token's in time that depends only on
 * their length, which is public (every token has the same format), never on where they differ. No digest is taken:
 * hashing both cost more than the rest of the check on every request.
 */
function tokenCheck(token: string | null): (req: IncomingMessage) => void {
  if (token === null) return () => undefined;
  const expected = Buffer.from(token, 'utf8');
  return (req) => {
    const given = parseSessionToken(req.headers);
    const bytes = given === undefined ? undefined : Buffer.from(given, 'utf8');
    if (bytes === undefined || bytes.length !== expected.length || !timingSafeEqual(bytes, expected))
      throw unauthorized();
  };
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
  const head = parseRequestHead(req.rawHeaders, req.method);
  const hasBody =
    req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  const response = await core.call({
    signal: cancelledWith(res),
    url: head.url,
    method: head.method,
    headers: head.headers,
    injections: head.injections,
    transport: 'proxy',
    // The caller's word for which transport and agent it is: recorded as a claim. What the proxy knows is that the
    // call came in through the proxy; who sent it is anyone holding the session token.
    claims: {
      ...(head.transport === undefined ? {} : { transport: head.transport }),
      ...(head.agentId === undefined ? {} : { agentId: head.agentId }),
    },
    ...(hasBody ? { body: req } : {}),
  });
  startAnswer(res, response);
  // Headers are scanned before they are sent; the body is scanned while it streams, so whether it was redacted
  // comes as a trailer once it is done.
  const trailer = canTrail(req, response.status);
  if (trailer) res.setHeader('trailer', REDACTED.trailerDeclaration);
  res.writeHead(response.status);
  response.body.on('error', (e: unknown) => sendError(res, toAgentSecretsError(e)));
  // What is written in one turn of the event loop — the status line and headers, the last body bytes, the end of a
  // chunked body and its trailer — leaves in one system call, not one each.
  let corked = false;
  response.body.on('data', () => {
    if (corked) return;
    corked = true;
    res.cork();
    setImmediate(() => {
      corked = false;
      res.uncork();
    });
  });
  response.body.on('end', () => {
    // Not held back for the audit event: waiting for the append would put a lock and a write on every call's
    // latency. An event that cannot be written is kept and retried, and no further call goes out until it is.
    if (trailer) res.addTrailers(REDACTED.format(response.redactions() > 0));
    res.end();
  });
  response.body.pipe(res, { end: false });
  // The status line and headers go out with the first body bytes, or on their own on the next turn of the event
  // loop when none came: the body may be held back a while (see the redactor's release rule).
  let wrote = false;
  response.body.once('data', () => {
    wrote = true;
  });
  setImmediate(() => {
    if (!wrote && !res.writableEnded) res.flushHeaders();
  });
}

/** A gate around a core opened already, which cannot be locked (embedding, tests). */
function openGate(core: AgentSecrets | undefined): VaultGate {
  if (core === undefined) {
    throw new AgentSecretsError('INVALID_ARGUMENT', 'startProxyServer needs a core or a gate', {
      hint: 'pass { core } or { gate }',
    });
  }
  return new VaultGate({
    core,
    lockable: false,
    open: () => Promise.reject(new Error('not lockable')),
  });
}

/** Longest passphrase `/unlock` reads; a longer body is refused unread. */
const MAX_PASSPHRASE_BYTES = 4096;

/**
 * `POST /unlock`: the body is the owner passphrase (UTF-8), sent by `agentsecrets unlock` over loopback with the
 * session token. It is never logged, echoed or kept: the vault opened with it is.
 */
async function unlock(gate: VaultGate, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!gate.lockable) {
    // Answered before the body is read: nothing to check it against.
    await gate.unlock('');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PASSPHRASE_BYTES) {
      for (const c of chunks) c.fill(0);
      res.shouldKeepAlive = false;
      throw new AgentSecretsError('REQUEST_TOO_LARGE', 'the passphrase is too long', {
        hint: 'send the owner passphrase only',
      });
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  try {
    const changed = await gate.unlock(raw.toString('utf8'));
    sendJson(res, 200, { vault: 'open', changed });
  } finally {
    raw.fill(0);
  }
}

/**
 * Starts the HTTP proxy of SPEC.md §4 on the core engine. Routes: `GET /health` (no auth), `ANY /proxy`, for
 * the CLI and MCP server `GET /status`, `GET /secrets` (names and policy, never values) and `GET /secrets/diff` (team
 * sync's diff, by name), and `GET /vault`, `POST /unlock` and `POST /lock` for a proxy whose vault can be locked
 * (see {@link VaultGate}); while locked every other route answers VAULT_LOCKED.
 */
export async function startProxyServer(options: ProxyServerOptions): Promise<RunningProxy> {
  const gate = options.gate ?? openGate(options.core);
  const host = options.host ?? '127.0.0.1';
  const token = options.token === undefined ? randomToken() : options.token;
  const checkToken = tokenCheck(token);
  let port = options.port ?? 8765;
  // Request ids: a random per-process prefix and a counter — unique, and cheaper than 128 random bits per request.
  const idPrefix = randomId('req');
  const maxBody = options.maxRequestBodyBytes ?? DEFAULT_MAX_BODY;
  let requests = 0;
  let self: ProxyInfo | null = null;
  // `agentsecrets run` (SPEC §8): absolute-URI requests and CONNECT from sandboxed agents, authenticated per run.
  let forwardMode: ForwardProxy | undefined;
  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    requests += 1;
    res.setHeader(...formatRequestId(`${idPrefix}.${requests.toString(36)}`));
    if (forwardMode?.isForwardRequest(req)) {
      forwardMode.request(req, res);
      return;
    }
    (async () => {
      const path = routeOf(req.url ?? '/');
      checkCaller(req, port);
      if (path === PROXY_ROUTES.health && req.method === 'GET') {
        sendJson(res, 200, { status: 'ok' });
        return;
      }
      checkToken(req);
      if (path === PROXY_ROUTES.proxy) await forward(gate.core(), req, res, maxBody);
      // The clients' check that the proxy is up and takes their token: touches neither the vault nor the policy.
      else if (path === PROXY_ROUTES.session && req.method === 'GET') sendJson(res, 200, { status: 'ok' });
      else if (path === PROXY_ROUTES.status && req.method === 'GET')
        sendJson(res, 200, { ...(await gate.core().status()), proxy: self });
      else if (path === PROXY_ROUTES.secrets && req.method === 'GET')
        sendJson(res, 200, await gate.core().listSecrets());
      // Team sync's diff by name (what `secrets diff` prints), so that it needs no vault of its own either.
      else if (path === PROXY_ROUTES.secretsDiff && req.method === 'GET')
        sendJson(res, 200, await gate.core().team.diff());
      else if (path === PROXY_ROUTES.vault && req.method === 'GET')
        sendJson(res, 200, { vault: gate.locked ? 'locked' : 'open' });
      else if (path === PROXY_ROUTES.unlock && req.method === 'POST') await unlock(gate, req, res);
      else if (path === PROXY_ROUTES.lock && req.method === 'POST')
        sendJson(res, 200, { vault: 'locked', changed: await gate.lock() });
      else if (forwardMode !== undefined && (path === RUNS_ROUTE || path.startsWith(`${RUNS_ROUTE}/`)))
        await forwardMode.route(path, req, res);
      else {
        throw new AgentSecretsError('ROUTE_NOT_FOUND', 'no such route on the proxy', {
          hint: PROXY_USAGE_HINT,
        });
      }
    })().catch((e: unknown) => sendError(res, toAgentSecretsError(e)));
  });
  // A request head must arrive within 10 s (checked every second), so slow heads cannot hold connections for long;
  // bodies and answers may stream for as long as they flow. Idle keep-alive connections close after 5 s.
  const forwardProxy = createForwardProxy({ core: () => gate.core(), server, maxBodyBytes: maxBody });
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
          ? new AgentSecretsError('PORT_IN_USE', `port ${port} on ${host} is already in use`, {
              hint: `stop what uses port ${port}, or start the proxy on another with --port`,
            })
          : e,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = proxyUrl({ host, port });
  self = { pid: process.pid, url, auth: token !== null };
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url,
    token,
    server,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        forwardProxy.close();
      }).then(() => gate.close());
      return closing;
    },
  };
}
