import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { AgentSecretsError } from '@agentsecrets/errors';
import type { Placement } from '../spec/placement.js';
import { canonicalIp } from './address.js';

/** How a host is written: a DNS name, a one-label wildcard, or an IP literal. */
export type HostKind = 'name' | 'wildcard' | 'ipv4' | 'ipv6';

/**
 * One allowlist entry: `host`, `host:port`, `*.domain` (exactly one label more), `http://host[:port]`, an IP literal.
 * Scheme https unless the entry says `http://`; without a port it allows only the scheme's default port.
 */
export interface AllowlistEntry {
  readonly scheme: 'https' | 'http';
  /** Normalized: lowercase ASCII (IDNA), no trailing dot; `*.example.com` for wildcards; IPv6 without brackets. */
  readonly host: string;
  readonly port: number | undefined;
  readonly kind: HostKind;
}

/** A parsed, normalized destination URL. */
export interface Destination {
  readonly url: URL;
  readonly scheme: 'https' | 'http';
  /** Normalized host, IPv6 without brackets; an IPv4-mapped IPv6 literal is given as its IPv4 address. */
  readonly host: string;
  readonly hostKind: 'name' | 'ipv4' | 'ipv6';
  /** The effective port (443/80 when the URL has none). */
  readonly port: number;
  /** The path, dot segments already resolved by the URL parser. */
  readonly path: string;
  /** `scheme://host:port`, as the connection pool wants it. */
  readonly origin: string;
  /** `scheme://host[:port]/path`: no query, no fragment. What the audit log records. */
  readonly display: string;
}

/**
 * A per-secret destination binding: `HOST[:PORT][/PATH-PREFIX]`, the methods allowed (empty: any) and where in the
 * request the secret may be written there (empty: the header styles, `bearer`, `basic` and any named header).
 */
export interface Binding {
  readonly host: string;
  readonly kind: HostKind;
  readonly port: number | undefined;
  readonly pathPrefix: string | undefined;
  readonly methods: readonly string[];
  readonly placements: readonly Placement[];
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
const METHOD = /^[A-Z]{1,16}$/;
const ENTRY_FORMS = 'use host, host:port, *.domain, http://host:port or an IP address, e.g. api.stripe.com';

const defaultPort = (scheme: 'https' | 'http') => (scheme === 'https' ? 443 : 80);

function bad(text: string, why: string, hint = ENTRY_FORMS): AgentSecretsError {
  const shown = text.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
  return new AgentSecretsError('INVALID_ARGUMENT', `"${shown}" ${why}`, { hint });
}

/** Normalizes a DNS name: lowercase, IDNA to ASCII, no trailing dot, valid labels. Undefined when it is not one. */
function normalizeName(name: string): string | undefined {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '' || trimmed.length > 253) return undefined;
  const ascii = domainToASCII(trimmed.toLowerCase());
  if (ascii === '' || ascii.length > 253) return undefined;
  return ascii.split('.').every((l) => LABEL.test(l)) ? ascii : undefined;
}

/** Splits `host[:port]` (IPv6 in brackets, or bare IPv6 without a port) and normalizes the host. */
function parseHostPort(
  text: string,
  original: string,
): { host: string; kind: HostKind; port: number | undefined } {
  let hostText: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw bad(original, 'has an unclosed [');
    hostText = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw bad(original, 'has text after the IPv6 address');
    portText = rest === '' ? undefined : rest.slice(1);
    if (isIP(hostText) !== 6) throw bad(original, 'is not a valid IPv6 address');
  } else if ((text.match(/:/g) ?? []).length > 1) {
    hostText = text;
  } else {
    const colon = text.lastIndexOf(':');
    hostText = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw bad(original, 'has an invalid port', 'a port is a number from 1 to 65535');
    }
    port = Number(portText);
  }
  const family = isIP(hostText);
  if (family === 4) return { host: hostText, kind: 'ipv4', port };
  if (family === 6) {
    const canonical = canonicalIp(hostText);
    return { host: canonical, kind: isIP(canonical) === 4 ? 'ipv4' : 'ipv6', port };
  }
  if (hostText.startsWith('*.')) {
    const suffix = normalizeName(hostText.slice(2));
    if (suffix === undefined) throw bad(original, 'is not a valid wildcard');
    if (suffix.split('.').length < 2) {
      throw bad(
        original,
        'is too broad a wildcard',
        'a wildcard needs at least two labels after *. (e.g. *.example.com)',
      );
    }
    return { host: `*.${suffix}`, kind: 'wildcard', port };
  }
  if (hostText.includes('*')) throw bad(original, 'may only use * as the whole first label (*.example.com)');
  const name = normalizeName(hostText);
  if (name === undefined) throw bad(original, 'is not a valid host name');
  return { host: name, kind: 'name', port };
}

/**
 * Parses an allowlist entry. Throws INVALID_ARGUMENT for paths, userinfo, queries, bad ports, misplaced or
 * one-label wildcards.
 *
 * @example
 * ```ts
 * parseAllowlistEntry('API.Stripe.com.'); // { scheme: 'https', host: 'api.stripe.com', port: undefined, kind: 'name' }
 * parseAllowlistEntry('http://127.0.0.1:8080'); // { scheme: 'http', host: '127.0.0.1', port: 8080, kind: 'ipv4' }
 * ```
 */
export function parseAllowlistEntry(text: string): AllowlistEntry {
  const trimmed = text.trim();
  let scheme: 'https' | 'http' = 'https';
  let rest = trimmed;
  const m = /^(https?):\/\//i.exec(trimmed);
  if (m) {
    scheme = m[1]!.toLowerCase() as 'https' | 'http';
    rest = trimmed.slice(m[0].length);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw bad(text, 'has a scheme other than http or https');
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest === '') throw bad(text, 'names no host');
  if (/[/?#@\s\\]/.test(rest))
    throw bad(text, 'may only be a host and port (no path, query, user or spaces)');
  const { host, kind, port } = parseHostPort(rest, text);
  return { scheme, host, port, kind };
}

function hostText(host: string, kind: HostKind): string {
  return kind === 'ipv6' ? `[${host}]` : host;
}

/** The canonical text of an entry (the inverse of {@link parseAllowlistEntry}). */
export function formatAllowlistEntry(entry: AllowlistEntry): string {
  const hp = `${hostText(entry.host, entry.kind)}${entry.port === undefined ? '' : `:${entry.port}`}`;
  return entry.scheme === 'http' ? `http://${hp}` : hp;
}

/**
 * Parses a destination URL: http or https only (INVALID_URL), userinfo refused (USERINFO_REFUSED), host normalized
 * the way entries are. Messages name only scheme and host, never the query (it may hold a value).
 */
export function parseDestination(text: string): Destination {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AgentSecretsError('INVALID_URL', 'the destination is not a valid absolute URL', {
      hint: 'give a full URL such as https://api.example.com/v1/items',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AgentSecretsError(
      'INVALID_URL',
      `the ${url.protocol.replace(/[^a-z0-9+.-:]/gi, '')} scheme is not supported`,
      {
        hint: 'credentials are only sent over https (or http to an allowlisted http:// entry)',
      },
    );
  }
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  if (url.username !== '' || url.password !== '') {
    throw new AgentSecretsError(
      'USERINFO_REFUSED',
      `a URL with user information before the host is refused (${scheme}://${url.hostname}/)`,
      {
        hint: 'remove the user@ part; credentials are injected by name, never written in the URL',
      },
    );
  }
  const rawHost = url.hostname.replace(/^\[|\]$/g, '');
  let host: string;
  let hostKind: Destination['hostKind'];
  if (isIP(rawHost) !== 0) {
    host = canonicalIp(rawHost);
    hostKind = isIP(host) === 4 ? 'ipv4' : 'ipv6';
  } else {
    const name = normalizeName(rawHost);
    if (name === undefined) {
      throw new AgentSecretsError('INVALID_URL', 'the destination has no valid host name', {
        hint: 'give a full URL such as https://api.example.com/v1/items',
      });
    }
    host = name;
    hostKind = 'name';
  }
  const port = url.port === '' ? defaultPort(scheme) : Number(url.port);
  const shownHost = hostText(host, hostKind);
  const shownPort = port === defaultPort(scheme) ? '' : `:${port}`;
  return {
    url,
    scheme,
    host,
    hostKind,
    port,
    path: url.pathname,
    origin: `${scheme}://${shownHost}:${port}`,
    display: `${scheme}://${shownHost}${shownPort}${url.pathname}`,
  };
}

/** Does `host` (normalized) match a pattern of this kind? Wildcards match exactly one more label. */
function hostMatches(
  pattern: string,
  kind: HostKind,
  host: string,
  hostKind: Destination['hostKind'],
): boolean {
  if (kind === 'ipv4' || kind === 'ipv6') return hostKind === kind && pattern === host;
  if (hostKind !== 'name') return false;
  if (kind === 'name') return pattern === host;
  const suffix = pattern.slice(1);
  return host.endsWith(suffix) && !host.slice(0, -suffix.length).includes('.') && host.length > suffix.length;
}

/** The entry that allows `dest`, exact ones before wildcards; undefined when none does. */
export function matchAllowlist(
  dest: Destination,
  entries: readonly AllowlistEntry[],
): AllowlistEntry | undefined {
  let wildcard: AllowlistEntry | undefined;
  for (const e of entries) {
    if (e.scheme !== dest.scheme || (e.port ?? defaultPort(e.scheme)) !== dest.port) continue;
    if (!hostMatches(e.host, e.kind, dest.host, dest.hostKind)) continue;
    if (e.kind !== 'wildcard') return e;
    wildcard ??= e;
  }
  return wildcard;
}

/**
 * The entry that allows `dest`, or DOMAIN_NOT_ALLOWED (INSECURE_SCHEME when only https is allowed for that host and
 * the URL says http). Checked before any secret is read.
 */
export function checkAllowlist(dest: Destination, entries: readonly AllowlistEntry[]): AllowlistEntry {
  const entry = matchAllowlist(dest, entries);
  if (entry !== undefined) return entry;
  const shown = hostText(dest.host, dest.hostKind);
  if (dest.scheme === 'http') {
    const upgraded = { ...dest, scheme: 'https' as const, port: dest.port === 80 ? 443 : dest.port };
    if (matchAllowlist(upgraded, entries) !== undefined) {
      throw new AgentSecretsError('INSECURE_SCHEME', `${shown} is allowed over https only`, {
        hint: `use https://, or allow plain HTTP explicitly with \`agentsecrets allowlist add http://${shown}:${dest.port}\``,
      });
    }
  }
  const suggestion =
    dest.scheme === 'http'
      ? `http://${shown}:${dest.port}`
      : `${shown}${dest.port === 443 ? '' : `:${dest.port}`}`;
  throw new AgentSecretsError(
    'DOMAIN_NOT_ALLOWED',
    `${dest.scheme}://${shown}${dest.port === defaultPort(dest.scheme) ? '' : `:${dest.port}`} is not on the allowlist`,
    {
      hint: `if credentials may go there, the owner can run \`agentsecrets allowlist add ${suggestion}\``,
    },
  );
}

/**
 * The entry governing a host name at connect time, where only the name is known: exact before wildcard, whatever
 * the scheme and port (those were checked before connecting).
 */
export function entryForHost(
  hostname: string,
  entries: readonly AllowlistEntry[],
): AllowlistEntry | undefined {
  const bare = hostname.replace(/^\[|\]$/g, '');
  const ip = isIP(bare) !== 0;
  const host = ip ? canonicalIp(bare) : normalizeName(bare);
  if (host === undefined) return undefined;
  const kind: Destination['hostKind'] = ip ? (isIP(host) === 4 ? 'ipv4' : 'ipv6') : 'name';
  let wildcard: AllowlistEntry | undefined;
  for (const e of entries) {
    if (!hostMatches(e.host, e.kind, host, kind)) continue;
    if (e.kind !== 'wildcard') return e;
    wildcard ??= e;
  }
  return wildcard;
}

/**
 * Parses a binding `HOST[:PORT][/PATH-PREFIX]` with the methods allowed (empty: any) and the placements allowed there
 * (empty: the header styles).
 */
export function parseBinding(
  text: string,
  methods: readonly string[] = [],
  placements: readonly Placement[] = [],
): Binding {
  const trimmed = text.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw bad(text, 'must not have a scheme', 'write HOST[:PORT][/PATH-PREFIX], e.g. api.stripe.com/v1');
  }
  const slash = trimmed.indexOf('/');
  const hostPart = slash < 0 ? trimmed : trimmed.slice(0, slash);
  let pathPrefix = slash < 0 ? undefined : trimmed.slice(slash);
  if (hostPart === '' || /[?#@\s\\]/.test(trimmed)) {
    throw bad(
      text,
      'is not HOST[:PORT][/PATH-PREFIX]',
      'write HOST[:PORT][/PATH-PREFIX], e.g. api.stripe.com/v1',
    );
  }
  if (pathPrefix !== undefined) {
    const normalized = new URL(pathPrefix, 'https://x').pathname;
    pathPrefix = normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
    if (pathPrefix === '/') pathPrefix = undefined;
  }
  const upper = [...new Set(methods.map((m) => m.toUpperCase()))].sort();
  for (const m of upper) {
    if (!METHOD.test(m)) throw bad(m, 'is not an HTTP method', 'use GET, POST, PUT, PATCH, DELETE …');
  }
  const { host, kind, port } = parseHostPort(hostPart, text);
  return { host, kind, port, pathPrefix, methods: upper, placements: [...placements] };
}

/** The canonical text of a binding's destination, without its methods. */
export function formatBinding(binding: Binding): string {
  return `${hostText(binding.host, binding.kind)}${binding.port === undefined ? '' : `:${binding.port}`}${binding.pathPrefix ?? ''}`;
}

/** Does a binding cover this destination and method? (Its placements are checked by `checkPlacements`.) */
export function bindingMatches(b: Binding, dest: Destination, method: string): boolean {
  if (!hostMatches(b.host, b.kind, dest.host, dest.hostKind)) return false;
  if (b.port !== undefined && b.port !== dest.port) return false;
  if (b.pathPrefix !== undefined && dest.path !== b.pathPrefix && !dest.path.startsWith(`${b.pathPrefix}/`))
    return false;
  return b.methods.length === 0 || b.methods.includes(method);
}

/**
 * A secret with bindings may only go where one of them allows (host, port, path prefix on a segment boundary,
 * method); BINDING_VIOLATION otherwise. A secret without bindings may go to any allowlisted destination.
 */
export function checkBindings(
  secretName: string,
  bindings: readonly Binding[],
  dest: Destination,
  method: string,
): void {
  if (bindings.length === 0 || bindings.some((b) => bindingMatches(b, dest, method))) return;
  throw new AgentSecretsError(
    'BINDING_VIOLATION',
    `${secretName} may not be sent to ${method} ${dest.display.replace(/^[a-z]+:\/\//, '')}; it is bound to ${bindings.map(formatBinding).join(', ')}`,
    { hint: `the owner can widen it with \`agentsecrets secrets bind ${secretName} HOST[/PATH]\`` },
  );
}
