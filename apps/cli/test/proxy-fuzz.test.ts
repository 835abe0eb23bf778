// Fuzz: fast-check builds request lines, headers and bodies for the real proxy (the built CLI's `proxy start`) and
// the bytes a raw upstream answers with; after every exchange the process must still be alive and answer /health.
import { rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  healthy,
  type ProxyProcess,
  preparedMachine,
  type RawUpstream,
  rawExchange,
  startProxyProcess,
  startRawUpstream,
} from './proxy-process.js';

let upstream: RawUpstream;
let machine: Awaited<ReturnType<typeof preparedMachine>>;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await startRawUpstream();
  machine = await preparedMachine([upstream.origin]);
  proxy = await startProxyProcess(machine);
});

afterAll(async () => {
  await proxy?.stop();
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

const bytes = (max: number) => fc.string({ unit: 'binary', maxLength: max });
const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);

// Printable text: what survives Node's header parser, so the request reaches the proxy's own code.
const text = (max: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: max,
  });
// Mostly well-formed, sometimes not: a request rejected by the HTTP parser tests little.
const mostly = <T>(good: fc.Arbitrary<T>, ...bad: fc.Arbitrary<T>[]) =>
  fc.oneof({ weight: 8, arbitrary: good }, ...bad.map((arbitrary) => ({ weight: 1, arbitrary })));

const method = mostly(
  fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
  fc.constantFrom('CONNECT', 'TRACE'),
  token,
  bytes(8),
);

const target = mostly(
  fc.constantFrom('/proxy', '/proxy', '/proxy', '/health', '/status', '/secrets'),
  fc.constantFrom('//[', '/proxy?x=1', '*', 'http://[::1', '/%zz', 'http://127.0.0.1/proxy'),
  fc.webPath(),
  bytes(40).map((s) => `/${s}`),
);

const version = mostly(
  fc.constant('HTTP/1.1'),
  fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', ''),
);

function upstreamPath(path: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(`http://127.0.0.1:${upstream.port}${path}`) },
    { weight: 1, arbitrary: fc.constant('http://127.0.0.1:1/closed') },
    { weight: 1, arbitrary: fc.webUrl() },
    { weight: 1, arbitrary: bytes(30) },
  );
}

function header(): fc.Arbitrary<[string, string]> {
  const inject = fc.constantFrom(
    'X-AS-Inject-Bearer',
    'X-AS-Inject-Basic',
    'X-AS-Inject-Header-X-Key',
    'X-AS-Inject-Query-api_key',
    'X-AS-Inject-Body-a.b',
    'X-AS-Inject-Form-f',
    'X-AS-Inject',
  );
  return fc.oneof(
    fc.tuple(
      inject,
      mostly(fc.constant('API_KEY'), fc.constant('NOPE'), fc.constant('query:q=API_KEY'), text(12)),
    ),
    fc.tuple(
      fc.constantFrom(
        'Content-Length',
        'Transfer-Encoding',
        'Expect',
        'Connection',
        'Upgrade',
        'Trailer',
        'TE',
      ),
      fc.oneof(
        fc.constantFrom(
          'chunked',
          'gzip, chunked',
          '100-continue',
          'close',
          'keep-alive',
          'websocket',
          '-1',
          '0',
        ),
        fc.nat({ max: 1 << 24 }).map(String),
        text(10),
        bytes(10),
      ),
    ),
    fc.tuple(
      fc.constantFrom('X-AS-Method', 'X-AS-Agent-ID', 'X-AS-Transport', 'Origin', 'Sec-Fetch-Site', 'Host'),
      fc.oneof(token, text(12), bytes(12)),
    ),
    fc.tuple(token, mostly(text(30), bytes(30))),
  );
}

interface Exchange {
  readonly request: string;
  readonly respond: (socket: Socket) => void;
}

const statusLine = mostly(
  fc.integer({ min: 100, max: 599 }).map((c) => `HTTP/1.1 ${c} X`),
  fc.constantFrom(
    'HTTP/1.1 204 No Content',
    'HTTP/1.1 304 Not Modified',
    'HTTP/1.0 200 OK',
    'HTTP/1.1 101 Switching',
  ),
  bytes(20),
);

const upstreamHeader = fc.oneof(
  fc.tuple(
    fc.constantFrom(
      'content-length',
      'transfer-encoding',
      'content-encoding',
      'trailer',
      'connection',
      'location',
      'set-cookie',
      'content-type',
    ),
    fc.oneof(
      fc.constantFrom(
        'chunked',
        'gzip',
        'br',
        'deflate',
        'zstd',
        'identity',
        'close',
        '5',
        '-3',
        'X-AS-Redacted',
      ),
      fc.nat({ max: 100_000 }).map(String),
      text(16),
      bytes(16),
    ),
  ),
  fc.tuple(token, mostly(text(20), bytes(20))),
);

const upstreamBehaviour = fc.constantFrom('end', 'end', 'end', 'reset', 'half', 'hang');

function responder(r: { status: string; headers: [string, string][]; body: string; behaviour: string }) {
  const head = [r.status, ...r.headers.map(([n, v]) => `${n}: ${v}`)].join('\r\n');
  return (socket: Socket) => {
    const answer = Buffer.from(`${head}\r\n\r\n${r.body}`, 'latin1');
    if (r.behaviour === 'end') socket.end(answer);
    else if (r.behaviour === 'reset') {
      socket.write(answer.subarray(0, answer.length >> 1));
      socket.resetAndDestroy();
    } else if (r.behaviour === 'half') socket.write(answer.subarray(0, answer.length >> 1));
    else setTimeout(() => socket.destroy(), 1_500);
  };
}

const upstreamAnswer = fc.record({
  status: statusLine,
  headers: fc.array(upstreamHeader, { maxLength: 5 }),
  body: mostly(text(200), bytes(200)),
  behaviour: upstreamBehaviour,
});

/** Anything at all: request line, headers and body from the generators above. */
const anyExchange: fc.Arbitrary<Exchange> = fc
  .record({
    method,
    target,
    version,
    auth: mostly(fc.constant(true), fc.constant(false)),
    contentLength: mostly(fc.constant(true), fc.constant(false)),
    destination: fc.webPath().chain(upstreamPath),
    headers: fc.array(header(), { maxLength: 4 }),
    body: mostly(text(200), bytes(200)),
    response: upstreamAnswer,
  })
  .map((r) => {
    const lines = [`${r.method} ${r.target} ${r.version}`.trimEnd(), `Host: 127.0.0.1:${proxy.port}`];
    if (r.auth) lines.push(`X-AS-Session-Token: ${proxy.token}`);
    lines.push(`X-AS-Target-URL: ${r.destination}`);
    for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
    if (r.contentLength) lines.push(`Content-Length: ${Buffer.byteLength(r.body, 'latin1')}`);
    lines.push('Connection: close');
    return { request: `${lines.join('\r\n')}\r\n\r\n${r.body}`, respond: responder(r.response) };
  });

/** A well-formed, authenticated call that reaches the upstream, which answers with anything. */
const upstreamExchange: fc.Arbitrary<Exchange> = fc
  .record({
    method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE'),
    path: fc.webPath(),
    body: text(100),
    response: upstreamAnswer,
  })
  .map((r) => {
    const lines = [
      `${r.method} /proxy HTTP/1.1`,
      `Host: 127.0.0.1:${proxy.port}`,
      `X-AS-Session-Token: ${proxy.token}`,
      `X-AS-Target-URL: http://127.0.0.1:${upstream.port}${r.path}`,
      'X-AS-Inject-Bearer: API_KEY',
      `Content-Length: ${r.body.length}`,
      'Connection: close',
    ];
    return { request: `${lines.join('\r\n')}\r\n\r\n${r.body}`, respond: responder(r.response) };
  });

async function survives(exchange: fc.Arbitrary<Exchange>, seconds: number): Promise<number> {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(exchange, async ({ request, respond }) => {
      runs += 1;
      upstream.respond = (_head, socket) => respond(socket);
      await rawExchange(proxy.port, Buffer.from(request, 'latin1'), 400);
      if (!proxy.alive()) throw new Error(`the proxy exited:\n${proxy.output().slice(-2000)}`);
      return healthy(proxy.port, 5_000);
    }),
    { numRuns: 400, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false },
  );
  return runs;
}

describe('fuzzing the real proxy', () => {
  it('no request line, header or body ends the process or stops it answering', async () => {
    expect(await survives(anyExchange, 12)).toBeGreaterThan(20);
    expect(proxy.alive()).toBe(true);
  }, 60_000);

  it('no upstream answer ends the process or stops it answering', async () => {
    const before = upstream.seen.length;
    expect(await survives(upstreamExchange, 12)).toBeGreaterThan(20);
    expect(upstream.seen.length - before).toBeGreaterThan(20);
    expect(proxy.alive()).toBe(true);
    expect(await healthy(proxy.port)).toBe(true);
  }, 60_000);
});
