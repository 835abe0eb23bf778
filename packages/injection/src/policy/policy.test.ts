import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentSecretsError } from '@agentsecrets/errors';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { classifyAddress } from './address.js';
import {
  checkAllowlist,
  checkBindings,
  entryForHost,
  formatAllowlistEntry,
  formatBinding,
  parseAllowlistEntry,
  parseBinding,
  parseDestination,
} from './policy.js';
import { checkLiteral, createGuardedLookup, type LookupFunction, resolveAndCheck } from './ssrf.js';

function code(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    return e instanceof AgentSecretsError ? e.code : `FOREIGN ${(e as Error).message}`;
  }
}

const entries = [
  'api.allowed.com',
  '*.wild.example',
  'http://plain.example:8080',
  'localhost',
  '10.1.2.3:9000',
].map(parseAllowlistEntry);
const allow = (url: string) => code(() => checkAllowlist(parseDestination(url), entries));

describe('allowlist entries', () => {
  it('normalizes case, trailing dot, IDNA and IPs, and round-trips', () => {
    expect(parseAllowlistEntry('API.Allowed.COM.')).toEqual({
      scheme: 'https',
      host: 'api.allowed.com',
      port: undefined,
      kind: 'name',
    });
    expect(parseAllowlistEntry('bücher.example').host).toBe('xn--bcher-kva.example');
    expect(parseAllowlistEntry('[::1]:8080')).toEqual({
      scheme: 'https',
      host: '0:0:0:0:0:0:0:1',
      port: 8080,
      kind: 'ipv6',
    });
    expect(parseAllowlistEntry('http://127.0.0.1:8080/')).toEqual({
      scheme: 'http',
      host: '127.0.0.1',
      port: 8080,
      kind: 'ipv4',
    });
    for (const text of [
      'api.x.com',
      'api.x.com:8443',
      '*.x.example',
      'http://h.example:81',
      '10.0.0.1',
      '[fe80:0:0:0:0:0:0:1]:1',
    ]) {
      expect(formatAllowlistEntry(parseAllowlistEntry(text))).toBe(text);
    }
  });

  it('refuses paths, userinfo, queries, bad ports and broad or misplaced wildcards', () => {
    for (const bad of [
      'api.x.com/v1',
      'user@api.x.com',
      'api.x.com?x',
      'api.x.com:0',
      'api.x.com:70000',
      '*',
      '*.com',
      'a.*.com',
      'ftp://x.com',
      '',
      'a..b',
    ]) {
      expect(
        code(() => parseAllowlistEntry(bad)),
        bad,
      ).toBe('INVALID_ARGUMENT');
    }
  });

  it('round-trips any valid entry (property)', () => {
    const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 2, maxLength: 4 }),
        fc.option(fc.integer({ min: 1, max: 65535 })),
        fc.boolean(),
        fc.boolean(),
        (labels, port, http, wild) => {
          const host = `${wild ? '*.' : ''}${labels.join('.')}`;
          const text = `${http ? 'http://' : ''}${host}${port === null ? '' : `:${port}`}`;
          const entry = parseAllowlistEntry(text);
          expect(parseAllowlistEntry(formatAllowlistEntry(entry))).toEqual(entry);
        },
      ),
    );
  });

  it('a random host never matches unless it is the entry or one label under its wildcard (property)', () => {
    const label = fc.stringMatching(/^[a-z]{1,6}$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), (labels) => {
        const host = `${labels.join('.')}.test`;
        const result = allow(`https://${host}/`);
        const expected = host === 'api.allowed.com' ? 'OK' : 'DOMAIN_NOT_ALLOWED';
        expect(result).toBe(expected);
      }),
    );
  });
});

describe('bypass attempts', () => {
  const cases: [string, string][] = [
    ['https://api.allowed.com/v1', 'OK'],
    ['HTTPS://API.Allowed.COM/', 'OK'],
    ['https://api.allowed.com./', 'OK'],
    ['https://api.allowed.com@evil.com/', 'USERINFO_REFUSED'],
    ['https://allowed@evil.com/', 'USERINFO_REFUSED'],
    ['https://api.allowed.com.evil.com/', 'DOMAIN_NOT_ALLOWED'],
    ['https://evil.com./', 'DOMAIN_NOT_ALLOWED'],
    ['https://аpi.allowed.com/', 'DOMAIN_NOT_ALLOWED'],
    ['https://api.allowed.com:8443/', 'DOMAIN_NOT_ALLOWED'],
    ['http://api.allowed.com/', 'INSECURE_SCHEME'],
    ['https://evil.com#@api.allowed.com', 'DOMAIN_NOT_ALLOWED'],
    ['https://evil.com?@api.allowed.com', 'DOMAIN_NOT_ALLOWED'],
    ['https://%65vil.com/', 'DOMAIN_NOT_ALLOWED'],
    ['https://a.wild.example/', 'OK'],
    ['https://a.b.wild.example/', 'DOMAIN_NOT_ALLOWED'],
    ['https://wild.example/', 'DOMAIN_NOT_ALLOWED'],
    ['http://plain.example:8080/', 'OK'],
    ['https://plain.example:8080/', 'DOMAIN_NOT_ALLOWED'],
    ['https://localhost/', 'OK'],
    ['https://127.0.0.1/', 'DOMAIN_NOT_ALLOWED'],
    ['https://2130706433/', 'DOMAIN_NOT_ALLOWED'],
    ['https://0x7f.1/', 'DOMAIN_NOT_ALLOWED'],
    ['https://0177.0.0.1/', 'DOMAIN_NOT_ALLOWED'],
    ['https://[::ffff:127.0.0.1]/', 'DOMAIN_NOT_ALLOWED'],
    ['https://169.254.169.254/', 'DOMAIN_NOT_ALLOWED'],
    ['https://[::ffff:169.254.169.254]/', 'DOMAIN_NOT_ALLOWED'],
    ['https://10.1.2.3:9000/', 'OK'],
    ['https://[::ffff:10.1.2.3]:9000/', 'OK'],
    ['https://167838211:9000/', 'OK'],
    ['file:///etc/passwd', 'INVALID_URL'],
    ['javascript:alert(1)', 'INVALID_URL'],
    ['ftp://api.allowed.com/', 'INVALID_URL'],
    ['https:///', 'INVALID_URL'],
    ['not a url', 'INVALID_URL'],
  ];
  for (const [url, expected] of cases) {
    it(`${url} → ${expected}`, () => {
      expect(allow(url)).toBe(expected);
    });
  }

  it('never echoes userinfo or a query in a message', () => {
    for (const url of [
      'https://user:s3cr3tpw@evil.com/',
      'https://evil.com/?key=s3cr3tpw',
      'gopher://x/?s3cr3tpw',
    ]) {
      try {
        checkAllowlist(parseDestination(url), entries);
      } catch (e) {
        expect(`${(e as Error).message} ${(e as AgentSecretsError).hint}`).not.toContain('s3cr3tpw');
      }
    }
  });
});

describe('bindings', () => {
  const bindings = [parseBinding('api.allowed.com/v1', ['get', 'POST'])];
  const check = (url: string, method = 'GET') =>
    code(() => checkBindings('KEY', bindings, parseDestination(url), method));
  it('limit host, path prefix on a segment boundary and method', () => {
    expect(check('https://api.allowed.com/v1')).toBe('OK');
    expect(check('https://api.allowed.com/v1/charges', 'POST')).toBe('OK');
    expect(check('https://api.allowed.com/v10')).toBe('BINDING_VIOLATION');
    expect(check('https://api.allowed.com/v1/../admin')).toBe('BINDING_VIOLATION');
    expect(check('https://api.allowed.com/v1/%2e%2e/admin')).toBe('BINDING_VIOLATION');
    expect(check('https://api.allowed.com/V1')).toBe('BINDING_VIOLATION');
    expect(check('https://api.allowed.com/v1', 'DELETE')).toBe('BINDING_VIOLATION');
    expect(check('https://a.wild.example/v1')).toBe('BINDING_VIOLATION');
    expect(code(() => checkBindings('KEY', [], parseDestination('https://x.example/'), 'GET'))).toBe('OK');
    expect(formatBinding(parseBinding('API.allowed.com:443/v1/'))).toBe('api.allowed.com:443/v1');
    expect(code(() => parseBinding('https://x.com/v1'))).toBe('INVALID_ARGUMENT');
    expect(code(() => parseBinding('x.com', ['NOT A METHOD']))).toBe('INVALID_ARGUMENT');
  });
});

describe('SSRF', () => {
  it('classifies addresses', () => {
    const table: [string, string][] = [
      ['8.8.8.8', 'public'],
      ['127.0.0.1', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.5.4', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.1.1', 'link-local'],
      ['169.254.169.254', 'metadata'],
      ['100.100.100.200', 'metadata'],
      ['100.64.0.1', 'cgnat'],
      ['224.0.0.1', 'multicast'],
      ['0.0.0.0', 'unspecified'],
      ['240.0.0.1', 'reserved'],
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fe80::1', 'link-local'],
      ['fd00::1', 'private'],
      ['fd00:ec2::254', 'metadata'],
      ['ff02::1', 'multicast'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'metadata'],
      ['2001:db8::1', 'reserved'],
      ['2606:4700::1111', 'public'],
      // IPv6 forms that deliver to an IPv4 address are that address (issue 8).
      ['2002:7f00:1::', 'loopback'],
      ['2002:a00:1::1', 'private'],
      ['2002:a9fe:a9fe::', 'metadata'],
      ['2002:808:808::1', 'public'],
      ['::127.0.0.1', 'loopback'],
      ['::a9fe:a9fe', 'metadata'],
      ['::10.1.2.3', 'private'],
      ['::ffff:0:127.0.0.1', 'loopback'],
      ['::ffff:0:a9fe:a9fe', 'metadata'],
      ['::ffff:0:c0a8:101', 'private'],
      ['64:ff9b::10.0.0.1', 'private'],
      ['64:ff9b::127.0.0.1', 'loopback'],
      ['64:ff9b:1::a00:1', 'reserved'],
      ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
      ['100::1', 'reserved'],
      ['168.63.129.16', 'metadata'],
      ['::ffff:168.63.129.16', 'metadata'],
      ['192.88.99.1', 'reserved'],
    ];
    for (const [ip, cls] of table) expect(classifyAddress(ip), ip).toBe(cls);
  });

  const fake =
    (map: Record<string, string>): LookupFunction =>
    (hostname, options, cb) => {
      const address = map[hostname];
      if (address === undefined) return cb(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), '');
      if (typeof options === 'object' && options?.all)
        return cb(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
      return cb(null, address, 4);
    };

  it('pre-flight of an IP literal: checked at once, by the same rule; a name is left to the lookup', () => {
    const literal = (url: string, list = entries) => {
      const dest = parseDestination(url);
      try {
        return checkLiteral(dest, checkAllowlist(dest, list)) ?? 'NAME';
      } catch (e) {
        return (e as AgentSecretsError).code;
      }
    };
    expect(literal('https://10.1.2.3:9000/')).toEqual(['10.1.2.3']);
    expect(literal('https://api.allowed.com/')).toBe('NAME');
    // Judged as a wildcard entry is (as the forward proxy judges an unlisted host): metadata and private addresses
    // are refused without a promise, a public one passes.
    const judged = (url: string) => {
      const wild = { ...parseAllowlistEntry('*.unlisted.invalid'), scheme: 'https' as const };
      try {
        return checkLiteral(parseDestination(url), wild);
      } catch (e) {
        return (e as AgentSecretsError).code;
      }
    };
    expect(judged('https://169.254.169.254/')).toBe('SSRF_BLOCKED');
    expect(judged('https://[::ffff:7f00:1]/')).toBe('SSRF_BLOCKED');
    expect(judged('https://93.184.216.34/')).toEqual(['93.184.216.34']);
  });

  it('pre-flight: names resolving to private addresses need an exact entry, metadata an IP entry', async () => {
    const lookup = fake({
      'rebind.wild.example': '127.0.0.1',
      localhost: '127.0.0.1',
      'meta.allowed.com': '169.254.169.254',
      'api.allowed.com': '93.184.216.34',
    });
    const go = (url: string, list = entries) => {
      const dest = parseDestination(url);
      return resolveAndCheck(dest, checkAllowlist(dest, list), { lookup }).then(
        () => 'OK',
        (e: AgentSecretsError) => e.code,
      );
    };
    expect(await go('https://api.allowed.com/')).toBe('OK');
    expect(await go('https://rebind.wild.example/')).toBe('SSRF_BLOCKED');
    expect(await go('https://localhost/')).toBe('OK');
    expect(await go('https://meta.allowed.com/', [parseAllowlistEntry('meta.allowed.com')])).toBe(
      'SSRF_BLOCKED',
    );
    expect(await go('https://10.1.2.3:9000/')).toBe('OK');
    expect(await go('https://nowhere.allowed.com/', [parseAllowlistEntry('nowhere.allowed.com')])).toBe(
      'UPSTREAM_DNS',
    );
    // Names answering with IPv6 forms of private and metadata IPv4 addresses, or Azure's WireServer.
    const wrapped = fake({
      'six.wild.example': '2002:a00:1::1',
      'compat.wild.example': '::127.0.0.1',
      'nat64.wild.example': '64:ff9b::10.0.0.1',
      'meta6.allowed.com': '::ffff:0:a9fe:a9fe',
      'azure.allowed.com': '168.63.129.16',
    });
    const viaWrapped = (url: string, list = entries) => {
      const dest = parseDestination(url);
      return resolveAndCheck(dest, checkAllowlist(dest, list), { lookup: wrapped }).then(
        () => 'OK',
        (e: AgentSecretsError) => e.code,
      );
    };
    for (const host of ['six', 'compat', 'nat64']) {
      expect(await viaWrapped(`https://${host}.wild.example/`), host).toBe('SSRF_BLOCKED');
    }
    for (const host of ['meta6.allowed.com', 'azure.allowed.com']) {
      expect(await viaWrapped(`https://${host}/`, [parseAllowlistEntry(host)]), host).toBe('SSRF_BLOCKED');
    }
  });

  it('connect time: a real undici request connects only to checked addresses', async () => {
    const server = createServer((_req, res) => res.end('reached'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const lookup = fake({ 'rebind.wild.example': '127.0.0.1', 'exact.example': '127.0.0.1' });
    const list = [
      parseAllowlistEntry(`http://*.wild.example:${port}`),
      parseAllowlistEntry(`http://exact.example:${port}`),
    ];
    const agent = new Agent({
      connect: { lookup: createGuardedLookup((h) => entryForHost(h, list), { lookup }) as never },
    });
    try {
      const ok = await request(`http://exact.example:${port}/`, { dispatcher: agent });
      expect(await ok.body.text()).toBe('reached');
      const refused = await request(`http://rebind.wild.example:${port}/`, { dispatcher: agent }).then(
        () => undefined,
        (e: unknown) => e,
      );
      let found: unknown = refused;
      while (found !== undefined && !(found instanceof AgentSecretsError))
        found = (found as { cause?: unknown }).cause;
      expect((found as AgentSecretsError | undefined)?.code).toBe('SSRF_BLOCKED');
      const unlisted = await request(`http://other.example:${port}/`, { dispatcher: agent }).then(
        () => 'reached',
        () => 'refused',
      );
      expect(unlisted).toBe('refused');
    } finally {
      await agent.close();
      server.close();
    }
  });
});
