import { AgentSecretsError } from '@agentsecrets/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  callerHeaders,
  checkInjectionTargets,
  formatError,
  formatInjections,
  formatRequestHead,
  formatSessionToken,
  type ProxyRequestHead,
  parseError,
  parseInjections,
  parseRequestHead,
  parseSessionToken,
  REDACTED,
  routeOf,
  upstreamHeaders,
} from './protocol.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof AgentSecretsError ? e.code : 'FOREIGN';
  }
  return undefined;
}

/** A header record as node's `rawHeaders` list. */
function raw(headers: Record<string, string | string[]>): string[] {
  return Object.entries(headers).flatMap(([n, v]) => (Array.isArray(v) ? v.flatMap((x) => [n, x]) : [n, v]));
}

describe('proxy protocol', () => {
  it('parses every injection header form to the same specs as the textual form', () => {
    const fromHeaders = parseInjections([
      'X-AS-Inject-Body-a.b[0].c',
      'D_KEY',
      'x-as-inject-bearer',
      'A_KEY',
      'X-AS-Inject-Header-X-Api-Key',
      'B_KEY',
      'X-AS-Inject',
      'query:api_Key=C_KEY',
      'Content-Type',
      'application/json',
    ]);
    expect(fromHeaders).toEqual([
      { style: 'bearer', target: undefined, key: 'A_KEY' },
      { style: 'header', target: 'X-Api-Key', key: 'B_KEY' },
      { style: 'query', target: 'api_Key', key: 'C_KEY' },
      { style: 'body', target: 'a.b[0].c', key: 'D_KEY' },
    ]);
    expect(parseInjections(['X-AS-Inject', formatInjections(fromHeaders)])).toEqual(fromHeaders);
  });

  it('keeps target names exactly as sent', () => {
    expect(parseInjections(['X-AS-Inject-Query-api_Key', 'K1'])[0]!.target).toBe('api_Key');
    expect(parseInjections(['x-as-inject-form-Field_Name', 'K1'])[0]!.target).toBe('Field_Name');
  });

  it('refuses unknown injection headers and injections into its own headers', () => {
    expect(codeOf(() => parseInjections(['X-AS-Inject-Cookie-x', 'K']))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjections(['X-AS-Inject-Header-X-AS-Target-URL', 'K']))).toBe(
      'INVALID_INJECTION',
    );
    expect(codeOf(() => parseInjections(['X-AS-Inject', 'header:Proxy-Authorization=K']))).toBe(
      'INVALID_INJECTION',
    );
    expect(
      codeOf(() => checkInjectionTargets([{ style: 'header', target: 'x-as-session-token', key: 'K' }])),
    ).toBe('INVALID_INJECTION');
    expect(codeOf(() => checkInjectionTargets([{ style: 'header', target: 'X-Api-Key', key: 'K' }]))).toBe(
      undefined,
    );
  });

  it('either parses injection headers or throws a typed error, never anything else (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 6 }), (pairs) => {
        const list = pairs.flatMap(([n, v]) => [`X-AS-Inject-${n}`, v]);
        const code = codeOf(() => parseInjections(list));
        expect(code === undefined || code === 'INVALID_INJECTION').toBe(true);
      }),
    );
  });

  it("reads back the request head it writes, without the caller's protocol headers", () => {
    const head: ProxyRequestHead = {
      url: 'https://api.example.com/v1?x=1',
      method: 'put',
      injections: [
        { style: 'bearer', target: undefined, key: 'A_KEY' },
        { style: 'query', target: 'api_Key', key: 'B_KEY' },
      ],
      headers: [
        ['Accept', 'application/json'],
        ['X-Multi', 'one'],
        ['x-multi', 'two'],
        ['X-AS-Inject-Header-X-Smuggled', 'OTHER_KEY'],
        ['X-AS-Target-URL', 'https://evil.example/'],
        ['Proxy-Authorization', 'Bearer stolen'],
        ['__proto__', 'kept'],
      ],
      transport: 'mcp',
      agentId: 'agent-1',
    };
    const parsed = parseRequestHead(raw(formatRequestHead(head)), 'POST');
    expect(parsed.url).toBe(head.url);
    expect(parsed.method).toBe('PUT');
    expect(parsed.injections).toEqual(head.injections);
    expect(parsed.transport).toBe('mcp');
    expect(parsed.agentId).toBe('agent-1');
    expect(parsed.headers).toEqual([
      ['accept', 'application/json'],
      ['x-multi', 'one'],
      ['x-multi', 'two'],
      ['__proto__', 'kept'],
    ]);
  });

  it('refuses a request head without a target or with a malformed agent id, and ignores an unknown transport', () => {
    expect(codeOf(() => parseRequestHead(['Accept', '*/*'], 'GET'))).toBe('INVALID_ARGUMENT');
    expect(
      codeOf(() =>
        parseRequestHead(['X-AS-Target-URL', 'https://a.example/', 'X-AS-Agent-ID', 'a b'], 'GET'),
      ),
    ).toBe('INVALID_ARGUMENT');
    const head = parseRequestHead(
      ['X-AS-Target-URL', 'https://a.example/', 'X-AS-Transport', 'owner'],
      'DELETE',
    );
    expect(head.transport).toBeUndefined();
    expect(head.method).toBe('DELETE');
  });

  it('reads the session token it writes, in either header', () => {
    expect(formatSessionToken(null)).toEqual({});
    expect(parseSessionToken(formatSessionToken('tok-1'))).toBe('tok-1');
    expect(parseSessionToken({ 'proxy-authorization': 'Bearer  tok-2 ' })).toBe('tok-2');
    expect(parseSessionToken({ authorization: 'Bearer tok-3' })).toBeUndefined();
  });

  it('reads back the errors it writes and tells them from an upstream error status', () => {
    const sent = formatError(
      new AgentSecretsError('DOMAIN_NOT_ALLOWED', 'evil.example is not allowed', { hint: 'h' }),
    );
    const back = parseError(sent.headers, Buffer.from(sent.body));
    expect(back?.code).toBe('DOMAIN_NOT_ALLOWED');
    expect(back?.message).toBe('evil.example is not allowed');
    expect(back?.hint).toBe('h');
    // An upstream's own 403 carries no error header: it is an answer, not the proxy's refusal.
    expect(parseError({ 'content-type': 'application/json' }, Buffer.from(sent.body))).toBeUndefined();
    expect(parseError({ 'x-as-error': 'NO_SUCH_CODE' }, Buffer.from('not json'))?.code).toBe(
      'INTERNAL_ERROR',
    );
  });

  it('reads the redaction flag from the header or the trailer', () => {
    const yes = REDACTED.format(true);
    const no = REDACTED.format(false);
    const lowered = (h: Record<string, string>) =>
      Object.fromEntries(Object.entries(h).map(([n, v]) => [n.toLowerCase(), v]));
    expect(REDACTED.parse(lowered(no), {})).toBe(false);
    expect(REDACTED.parse(lowered(yes), {})).toBe(true);
    expect(REDACTED.parse(lowered(no), lowered(yes))).toBe(true);
  });

  it("keeps only the upstream's headers of an answer", () => {
    expect(
      upstreamHeaders({
        'content-type': 'text/plain',
        'set-cookie': ['a=1', 'b=2'],
        'x-as-request-id': 'req_1',
        'x-as-redacted': 'true',
        'transfer-encoding': 'chunked',
        connection: 'keep-alive',
      }),
    ).toEqual([
      ['content-type', 'text/plain'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    expect(
      callerHeaders([
        ['X-As-Whatever', '1'],
        ['X-Ask', '2'],
      ]),
    ).toEqual([['X-Ask', '2']]);
  });

  it('reads a route as a URL parser does, with or without parsing: dot segments, slashes, queries, escapes', () => {
    const parsed = (target: string) => {
      try {
        return new URL(target, 'http://proxy').pathname;
      } catch {
        return 'INVALID_ARGUMENT';
      }
    };
    const routed = (target: string) => codeOf(() => routeOf(target)) ?? routeOf(target);
    const targets = [
      '/proxy',
      '/secrets/diff',
      '/a_b-C9',
      '/',
      '/proxy/',
      '//proxy',
      '/proxy/../health',
      '/./proxy',
      '/proxy?x=1',
      '/proxy#f',
      '/%70roxy',
      '/proxy;x',
      '/proxy\\x',
      '/PROXY',
      '/pr oxy',
      '/proxy/.',
      '/é',
      'proxy',
      '//[',
    ];
    for (const target of targets) expect(routed(target), target).toBe(parsed(target));
    expect(routed('//[')).toBe('INVALID_ARGUMENT');
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'/._-a?#%;\\:[ '.split('')), maxLength: 12 }),
        (tail) => {
          expect(routed(`/${tail}`)).toBe(parsed(`/${tail}`));
        },
      ),
    );
  });
});
