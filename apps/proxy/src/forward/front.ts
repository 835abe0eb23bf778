// The forward-proxy mode of `agentsecrets run` (SPEC §8): authentication per run, absolute-URI requests, CONNECT with
// TLS termination for allowlisted hosts or an opaque tunnel, and the run registrations.
// Over 400 lines: one closure holds the per-run state (runs, sockets, hops, leaf contexts) every path shares; the
// stateless parts live beside it (wire.ts, runs.ts, ca-store.ts).

import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import {
  type AgentCallResponse,
  type AgentSecrets,
  AgentSecretsError,
  httpStatusFor,
  type InjectionSpec,
  locatePlaceholders,
  parseDestination,
  toAgentSecretsError,
} from '@agentsecrets/core';
import { createLeafMinter, type LeafMinter } from '@agentsecrets/local-ca';
import { cancelledWith, sendError, sendJson, startAnswer } from '../answer.js';
import { formatError, isProtocolHeader } from '../protocol.js';
import { loadOrCreateCa } from './ca-store.js';
import { type Run, RunRegistry } from './runs.js';
import { parseProxyAuthorization, RUNS_ROUTE, type RunRequest, RunRequestSchema } from './wire.js';

/** Request bodies of these types are read (up to the body limit) and searched for placeholders; others stream. */
const SCANNED = /^(application\/(json|x-www-form-urlencoded|[\w.+-]*\+json|xml)|text\/)/i;
const HOP = new Set(['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive']);

/** Where a forwarded request goes and for which run. */
interface Hop {
  readonly run: Run;
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  /** Inside a CONNECT tunnel (the request line has a path only, Host must name the tunnel's target). */
  readonly tunnelled: boolean;
}

/** The forward-proxy mode of the proxy (SPEC §8): absolute-URI requests, CONNECT, and the run registrations. */
export interface ForwardProxy {
  readonly runs: RunRegistry;
  /** True for a request in absolute form (`GET http://host/…`), which {@link request} handles. */
  isForwardRequest(req: IncomingMessage): boolean;
  request(req: IncomingMessage, res: ServerResponse): void;
  connect(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** `POST /runs`, `DELETE /runs/<id>` (the session token was checked by the caller). */
  route(path: string, req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Destroys tunnels and terminated connections still open. */
  close(): void;
}

/** A status line and a JSON error on a raw socket (a CONNECT answered before any tunnel exists). */
function refuseSocket(socket: Socket, error: AgentSecretsError): void {
  const { headers, body } = formatError(error);
  const status = httpStatusFor(error.code);
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Refused'}\r\ncontent-type: application/json\r\n${head}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function hostText(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** `host:port` of a CONNECT request line; undefined when it is not one. */
function parseAuthority(text: string | undefined): { host: string; port: number } | undefined {
  if (text === undefined || !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/.test(text)) return undefined;
  try {
    const u = new URL(`http://${text}`);
    const port = Number(u.port || 80);
    if (port < 1 || port > 65535) return undefined;
    return { host: u.hostname.replace(/^\[|\]$/g, '').toLowerCase(), port };
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        reject(
          new AgentSecretsError('REQUEST_TOO_LARGE', `the request body is larger than ${limit} bytes`, {
            hint: 'send a smaller body',
          }),
        );
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Creates the forward-proxy mode on `server`; `core` gives the opened core (throws VAULT_LOCKED while locked). */
export function createForwardProxy(options: {
  core: () => AgentSecrets;
  server: Server;
  maxBodyBytes: number;
}): ForwardProxy {
  const { core, server, maxBodyBytes } = options;
  const runs = new RunRegistry();
  const open = new Set<Socket>();
  const hops = new WeakMap<Socket, Hop>();
  let tls: Promise<{ minter: LeafMinter; caCertificate: string }> | undefined;
  const contexts = new Map<string, Promise<SecureContext>>();

  const ca = () => {
    tls ??= loadOrCreateCa(core()).then(async (loaded) => ({
      minter: await createLeafMinter(loaded),
      caCertificate: loaded.certPem,
    }));
    tls.catch(() => {
      tls = undefined;
    });
    return tls;
  };
  const contextFor = (host: string) => {
    let ctx = contexts.get(host);
    if (ctx === undefined) {
      ctx = ca()
        .then(({ minter }) => minter.mint(host))
        .then((leaf) => createSecureContext({ cert: leaf.certPem, key: leaf.keyPem }));
      ctx.catch(() => contexts.delete(host));
      if (contexts.size >= 256) contexts.delete(contexts.keys().next().value as string);
      contexts.set(host, ctx);
    }
    return ctx;
  };

  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  /** Audits a refusal that never reached the engine (a placeholder where none can go, a refused tunnel). */
  const recordRefusal = (
    hop: Hop,
    method: string,
    target: string | null,
    keys: string[],
    error: AgentSecretsError,
  ) =>
    core()
      .record({
        transport: 'run',
        agent_id: hop.run.agent,
        method,
        target,
        secret_keys: keys,
        styles: [],
        status: error.kind === 'policy' ? 'BLOCKED' : 'ERROR',
        reason: error.code,
        http_status: null,
        redacted: false,
        duration_ms: 0,
      })
      .catch(() => undefined);

  const inner = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const hop = hops.get(req.socket);
    if (hop !== undefined) void serve(req, res, hop);
    else res.destroy();
  });
  const plainInner = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const hop = hops.get(req.socket);
    if (hop !== undefined) void serve(req, res, { ...hop, scheme: 'http' });
    else res.destroy();
  });
  for (const s of [inner, plainInner]) s.headersTimeout = 10_000;

  async function serve(req: IncomingMessage, res: ServerResponse, hop: Hop): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      if (hop.tunnelled) {
        const host = parseAuthority(
          /:\d+$/.test(req.headers.host ?? '')
            ? req.headers.host
            : `${req.headers.host}:${hop.scheme === 'https' ? 443 : 80}`,
        );
        if (host === undefined || host.host !== hop.host || host.port !== hop.port) {
          throw new AgentSecretsError('REQUEST_REFUSED', 'the Host header does not name the CONNECT target', {
            hint: 'send requests inside a tunnel to the host the tunnel was opened for',
          });
        }
        if (!(req.url ?? '').startsWith('/')) {
          throw new AgentSecretsError('INVALID_URL', 'a request inside a tunnel must name a path', {
            hint: 'send GET /path',
          });
        }
        url = new URL(`${hop.scheme}://${hostText(hop.host)}:${hop.port}${req.url}`);
      } else {
        url = new URL(req.url ?? '');
      }
    } catch (e) {
      const error = toAgentSecretsError(e);
      if (error.code === 'REQUEST_REFUSED') {
        // 421 Misdirected Request: the policy was decided for the tunnel's target, not for another Host.
        sendError(res, error, 421);
      } else
        sendError(
          res,
          error.code === 'INTERNAL_ERROR'
            ? new AgentSecretsError('INVALID_URL', 'the request target is not a valid URL', {
                hint: 'send an absolute http:// URL',
              })
            : error,
        );
      return;
    }
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      // The hop's headers and the protocol's (a directive only the session-token holder's /proxy route takes).
      if (!HOP.has(name.toLowerCase()) && !isProtocolHeader(name))
        headers.push([name, req.rawHeaders[i + 1]!]);
    }
    const contentType = req.headers['content-type'];
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const scanned =
      hasBody && SCANNED.test(contentType ?? '') && req.headers['content-encoding'] === undefined;
    try {
      const body = scanned ? await readBody(req, maxBodyBytes) : undefined;
      let injections: InjectionSpec[];
      try {
        injections = locatePlaceholders(hop.run.placeholders, { url, headers, body }, contentType);
      } catch (e) {
        const error = toAgentSecretsError(e);
        const found = [...hop.run.placeholders.byPlaceholder].filter(([p]) =>
          `${url.href}\n${headers.flat().join('\n')}\n${body?.toString('latin1') ?? ''}`.includes(p),
        );
        let target: string | null = null;
        try {
          target = parseDestination(`${url.protocol}//${url.host}${url.pathname}`).display;
        } catch {}
        await recordRefusal(
          hop,
          method,
          target,
          found.map(([, n]) => n),
          error,
        );
        throw error;
      }
      if (injections.length === 0) {
        const { allowlisted, addresses } = await core().forwardTarget(url.href);
        if (!allowlisted) {
          if (hop.run.denyOtherHosts) {
            throw new AgentSecretsError(
              'DOMAIN_NOT_ALLOWED',
              `${url.protocol}//${url.host} is not on the allowlist`,
              {
                hint: 'this run was started with --deny-other-hosts',
              },
            );
          }
          passThrough(req, res, url, addresses[0]!, headers, body);
          return;
        }
      }
      const response = await core().call({
        signal: cancelledWith(res),
        url: url.href,
        method,
        headers,
        injections,
        transport: 'run',
        agentId: hop.run.agent,
        ...(body !== undefined ? { body } : hasBody ? { body: req } : {}),
      });
      pipeResponse(res, response);
    } catch (e) {
      sendError(res, toAgentSecretsError(e));
    }
  }

  /** A plain-HTTP request that carries no placeholder to a host that is not allowlisted: sent as it is, unscanned. */
  function passThrough(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    address: string,
    headers: [string, string][],
    body: Buffer | undefined,
  ): void {
    const upstream = httpRequest(
      {
        host: address,
        port: Number(url.port || 80),
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers: headers.flat(),
        setHost: false,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', () =>
      sendError(
        res,
        new AgentSecretsError('UPSTREAM_UNREACHABLE', `cannot reach ${url.protocol}//${url.host}`, {
          hint: 'check that the service is up',
        }),
      ),
    );
    if (body !== undefined) upstream.end(body);
    else req.pipe(upstream);
  }

  function pipeResponse(res: ServerResponse, response: AgentCallResponse): void {
    startAnswer(res, response);
    res.writeHead(response.status);
    res.flushHeaders();
    response.body.on('error', () => res.destroy());
    response.body.pipe(res);
  }

  async function openTunnel(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const run = runs.byToken(parseProxyAuthorization(req.headers['proxy-authorization']));
    if (run === undefined) {
      // The connection stays open: git (libcurl's proxy "anyauth") asks without credentials first and retries on it.
      socket.write(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="agentsecrets"\r\nContent-Length: 0\r\n\r\n',
      );
      if (head.length > 0) socket.unshift(head);
      server.emit('connection', socket);
      return;
    }
    track(socket);
    const target = parseAuthority(req.url);
    if (target === undefined) {
      refuseSocket(
        socket,
        new AgentSecretsError('INVALID_URL', 'CONNECT needs host:port', {
          hint: 'CONNECT api.example.com:443',
        }),
      );
      return;
    }
    const display = `https://${hostText(target.host)}:${target.port}/`;
    const hop: Hop = { run, scheme: 'https', host: target.host, port: target.port, tunnelled: true };
    let checked: { allowlisted: boolean; addresses: string[] };
    try {
      checked = await core().forwardTarget(display);
      if (!checked.allowlisted && run.denyOtherHosts) {
        throw new AgentSecretsError(
          'DOMAIN_NOT_ALLOWED',
          `${hostText(target.host)}:${target.port} is not on the allowlist`,
          {
            hint: 'this run was started with --deny-other-hosts',
          },
        );
      }
    } catch (e) {
      const error = toAgentSecretsError(e);
      await recordRefusal(hop, 'CONNECT', parseDestination(display).display, [], error);
      refuseSocket(socket, error);
      return;
    }
    if (!checked.allowlisted) {
      // No placeholder can be seen in an opaque tunnel; the address it goes to was checked (§7) and is dialled as is.
      const up = netConnect({ host: checked.addresses[0]!, port: target.port }, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) up.write(head);
        up.pipe(socket).pipe(up);
      });
      track(up);
      up.on('close', () => socket.destroy());
      socket.on('close', () => up.destroy());
      return;
    }
    const context = await contextFor(target.host).catch(() => undefined);
    if (context === undefined) {
      refuseSocket(
        socket,
        new AgentSecretsError('INTERNAL_ERROR', 'the local CA could not issue a certificate', {
          hint: 'see the proxy log',
        }),
      );
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    // Pull-mode read of the first bytes: a 'data' listener would switch the socket to flowing mode, and the TLS
    // socket would never see the ClientHello.
    const first =
      head.length > 0
        ? head
        : await new Promise<Buffer>((resolve) => {
            const pull = () => {
              const chunk = socket.read() as Buffer | null;
              if (chunk !== null) {
                socket.off('readable', pull);
                resolve(chunk);
              }
            };
            socket.on('readable', pull);
            socket.once('close', () => resolve(Buffer.alloc(0)));
          });
    if (first.length === 0) return;
    socket.unshift(first);
    if (first[0] !== 0x16) {
      // Not TLS (Node's fetch tunnels http:// URLs too): parsed as plain HTTP with the same checks.
      hops.set(socket, { ...hop, scheme: 'http' });
      plainInner.emit('connection', socket);
      return;
    }
    // The certificate names the CONNECT target, whatever the SNI says: the policy decision was made for that target.
    const secure = new TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: ['http/1.1'],
    });
    track(secure);
    hops.set(secure, hop);
    inner.emit('connection', secure);
  }

  return {
    runs,
    isForwardRequest: (req) => /^https?:\/\//i.test(req.url ?? ''),
    request(req, res) {
      const run = runs.byToken(parseProxyAuthorization(req.headers['proxy-authorization']));
      if (run === undefined) {
        res.writeHead(407, { 'proxy-authenticate': 'Basic realm="agentsecrets"', 'content-length': 0 });
        res.end();
        return;
      }
      let target: URL;
      try {
        target = new URL(req.url ?? '');
      } catch {
        sendError(
          res,
          new AgentSecretsError('INVALID_URL', 'the request target is not a valid URL', {
            hint: 'send an absolute http:// URL',
          }),
        );
        return;
      }
      if (target.protocol !== 'http:') {
        sendError(
          res,
          new AgentSecretsError('INVALID_URL', 'only http:// URLs are sent in absolute form', {
            hint: 'use CONNECT for https',
          }),
        );
        return;
      }
      const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
      void serve(req, res, { run, scheme: 'http', host, port: Number(target.port || 80), tunnelled: false });
    },
    connect(req, socket, head) {
      socket.on('error', () => socket.destroy());
      openTunnel(req, socket, head).catch(() => socket.destroy());
    },
    async route(path, req, res) {
      if (path === RUNS_ROUTE && req.method === 'POST') {
        const raw = await readBody(req, 64 * 1024);
        let parsed: RunRequest;
        try {
          parsed = RunRequestSchema.parse(JSON.parse(raw.toString('utf8')));
        } catch {
          throw new AgentSecretsError('INVALID_ARGUMENT', 'the run registration is not valid', {
            hint: 'send {"agent": NAME, "only"?: [KEY, ...], "denyOtherHosts"?: boolean}',
          });
        }
        const { caCertificate } = await ca();
        sendJson(res, 201, await runs.register(core(), parsed, caCertificate));
        return;
      }
      const id = /^\/runs\/(run_[0-9a-f]{32})$/.exec(path)?.[1];
      if (id !== undefined && req.method === 'DELETE') {
        runs.revoke(id);
        res.writeHead(204).end();
        return;
      }
      throw new AgentSecretsError('ROUTE_NOT_FOUND', 'no such route on the proxy', {
        hint: 'POST /runs to register a run, DELETE /runs/<id> to end it',
      });
    },
    close() {
      for (const s of open) s.destroy();
      inner.closeAllConnections();
      plainInner.closeAllConnections();
    },
  };
}
