import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request that went through the man in the middle, and what the client got back. */
export interface Exchange {
  readonly method: string;
  /** Path and query, as the client sent them. */
  readonly path: string;
  readonly requestBody: Buffer;
  /** What the client received (after any rewrite); 0 when the request was cut. */
  status: number;
  responseBody: Buffer;
}

/** What the man in the middle does with one request, decided by {@link Mitm.intercept}. */
export type MitmAction =
  /** Forward it; `rewrite` may replace the response body the client gets (JSON in, JSON out; may be async). */
  | { readonly kind: 'forward'; readonly rewrite?: (status: number, body: unknown) => unknown }
  /** Answer it here without asking the server. */
  | { readonly kind: 'respond'; readonly status: number; readonly body: unknown }
  /**
   * Forward the head and `bytes` of the body to the server, then cut both connections: a client killed mid-upload,
   * as the server sees it. `until` delays the cut (e.g. until the test has killed the client).
   */
  | { readonly kind: 'truncate'; readonly bytes: number; readonly until?: Promise<unknown> };

/** A request as the man in the middle sees it. */
export interface MitmRequest {
  readonly method: string;
  readonly path: string;
  /** The bearer token, if any: who is asking (the server can tell its users apart too). */
  readonly token: string | undefined;
  readonly body: Buffer;
  json(): unknown;
}

/** A recording, rewriting HTTP man in the middle in front of a server: the malicious server of attack tests. */
export interface Mitm {
  /** `http://127.0.0.1:PORT`: point clients here. */
  readonly url: string;
  /** Every exchange, in order. */
  readonly exchanges: Exchange[];
  /** Decides per request; default: forward untouched. Replace it at any time. */
  intercept: (req: MitmRequest) => MitmAction;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Starts a man in the middle on 127.0.0.1 (random port) in front of `target` (an `http://` origin). It records
 * every exchange and lets a test forward, rewrite, answer or cut each request: everything a compromised sync
 * server, or whoever sits between a client and it, can do.
 */
export async function startMitm(target: string): Promise<Mitm> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const mitm: Mitm = {
    url: '',
    exchanges: [],
    intercept: () => ({ kind: 'forward' }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req).catch(() => Buffer.alloc(0));
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const exchange: Exchange = {
      method,
      path,
      requestBody: body,
      status: 0,
      responseBody: Buffer.alloc(0),
    };
    mitm.exchanges.push(exchange);
    const action = mitm.intercept({
      method,
      path,
      token: /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1],
      body,
      json: () => (body.length === 0 ? undefined : JSON.parse(body.toString('utf8'))),
    });
    const send = (status: number, payload: Buffer) => {
      exchange.status = status;
      exchange.responseBody = payload;
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length });
      res.end(payload);
    };
    if (action.kind === 'respond') {
      send(action.status, Buffer.from(JSON.stringify(action.body)));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
    }
    const out = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method,
      path,
      headers: { ...headers, 'content-length': String(body.length) },
    });
    if (action.kind === 'truncate') {
      out.on('error', () => undefined);
      out.write(body.subarray(0, action.bytes));
      await action.until;
      // Give the server a moment to read what was sent, then cut both sides.
      await new Promise((r) => setTimeout(r, 50));
      out.destroy();
      req.socket.destroy();
      return;
    }
    out.on('response', async (upstreamRes) => {
      const raw = await readBody(upstreamRes).catch(() => Buffer.alloc(0));
      let payload = raw;
      if (action.rewrite !== undefined) {
        const parsed = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
        const rewritten = await action.rewrite(upstreamRes.statusCode ?? 502, parsed);
        payload = rewritten === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(rewritten));
      }
      send(upstreamRes.statusCode ?? 502, payload);
    });
    out.on('error', () => {
      if (!res.headersSent) send(502, Buffer.from('{"error":{"code":"UPSTREAM_RESET","message":"mitm"}}'));
    });
    out.end(body);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  (mitm as { url: string }).url = `http://127.0.0.1:${port}`;
  return mitm;
}
