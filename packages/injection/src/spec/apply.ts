import { AgentSecretsError } from '@agentsecrets/errors';
import { setJsonPath } from './json-path.js';
import type { InjectionSpec, InjectionStyle } from './spec.js';

/** A secret's value as the injector needs it: bytes, turned into a string only at the moment of injection. */
export interface InjectableSecret {
  readonly name: string;
  bytes(): Buffer;
}

/** An outbound request being built: headers as ordered name/value pairs, body fully buffered when it is modified. */
export interface OutboundRequest {
  url: URL;
  method: string;
  headers: [string, string][];
  body: Buffer | undefined;
}

function refuse(key: string, why: string, hint: string): AgentSecretsError {
  return new AgentSecretsError('INVALID_INJECTION', `secret ${key} ${why}`, { hint });
}

function headerSafe(key: string, value: string): string {
  // CR, LF or NUL in a header value would split the request; a credential never legitimately holds them.
  if (/[\r\n\0]/.test(value)) {
    throw refuse(
      key,
      'holds a line break and cannot go into a header',
      'store the credential without line breaks',
    );
  }
  return value;
}

function setHeader(headers: [string, string][], name: string, value: string): [string, string][] {
  const lower = name.toLowerCase();
  const kept = headers.filter(([n]) => n.toLowerCase() !== lower);
  kept.push([name, value]);
  return kept;
}

function headerValue(headers: readonly [string, string][], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

function decodeName(part: string): string {
  const raw = part.split('=', 1)[0]!.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Replaces (or adds) one `name=value` pair in an urlencoded string and leaves every other pair exactly as it was:
 * re-serialising through URLSearchParams would change how the caller's own parameters are encoded.
 */
function setUrlEncoded(encoded: string, name: string, value: string): string {
  const kept = encoded === '' ? [] : encoded.split('&').filter((p) => p !== '' && decodeName(p) !== name);
  kept.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  return kept.join('&');
}

function withContentType(headers: [string, string][], type: string): [string, string][] {
  return headerValue(headers, 'content-type') === undefined ? [...headers, ['content-type', type]] : headers;
}

/**
 * Writes each secret into the request as its spec says, in the specs' order (validateInjections sorts them). The
 * value becomes a string here and nowhere earlier. Returns the styles used, for the audit event.
 */
export function applyInjections(
  request: OutboundRequest,
  specs: readonly InjectionSpec[],
  secrets: ReadonlyMap<string, InjectableSecret>,
): { request: OutboundRequest; styles: InjectionStyle[] } {
  let { url, headers, body } = request;
  const styles: InjectionStyle[] = [];
  for (const spec of specs) {
    const secret = secrets.get(spec.key);
    if (secret === undefined) {
      throw secretNotFound();
    }
    const value = secret.bytes().toString('utf8');
    if (spec.placeholder !== undefined) {
      ({ url, headers, body } = replacePlaceholder({ url, headers, body }, spec, spec.placeholder, value));
      if (!styles.includes(spec.style)) styles.push(spec.style);
      continue;
    }
    switch (spec.style) {
      case 'bearer':
        headers = setHeader(headers, 'Authorization', `Bearer ${headerSafe(spec.key, value)}`);
        break;
      case 'basic':
        if (!value.includes(':')) {
          throw refuse(spec.key, 'is not in user:password form', 'store basic credentials as user:password');
        }
        headers = setHeader(
          headers,
          'Authorization',
          `Basic ${Buffer.from(value, 'utf8').toString('base64')}`,
        );
        break;
      case 'header':
        headers = setHeader(headers, spec.target!, headerSafe(spec.key, value));
        break;
      case 'query': {
        const next = new URL(url.href);
        next.search = setUrlEncoded(url.search.slice(1), spec.target!, value);
        url = next;
        break;
      }
      case 'body': {
        const text = body === undefined ? '' : body.toString('utf8');
        body = Buffer.from(setJsonPath(text, spec.target!, value), 'utf8');
        headers = withContentType(headers, 'application/json');
        break;
      }
      case 'form': {
        const text = body === undefined ? '' : body.toString('utf8');
        body = Buffer.from(setUrlEncoded(text, spec.target!, value), 'utf8');
        headers = withContentType(headers, 'application/x-www-form-urlencoded');
        break;
      }
    }
    if (!styles.includes(spec.style)) styles.push(spec.style);
  }
  return { request: { url, method: request.method, headers, body }, styles };
}

/** Replaces `placeholder` by `value` in the encoded pairs of field `name`. */
function replaceInPairs(encoded: string, name: string, placeholder: string, value: string): string {
  return encoded
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0 || decodeName(pair) !== name) return pair;
      return `${pair.slice(0, eq + 1)}${pair.slice(eq + 1).replaceAll(placeholder, encodeURIComponent(value))}`;
    })
    .join('&');
}

/**
 * `agentsecrets run`: the placeholder is already in the request where the agent put it, and the value replaces it
 * there — in the named place only, encoded as that place needs (base64 inside Basic, percent-encoding in a query or
 * form, JSON string escaping in a JSON body).
 */
function replacePlaceholder(
  request: { url: URL; headers: [string, string][]; body: Buffer | undefined },
  spec: InjectionSpec,
  placeholder: string,
  value: string,
): { url: URL; headers: [string, string][]; body: Buffer | undefined } {
  let { url, headers, body } = request;
  const inHeaders = (name: string, swap: (v: string) => string) => {
    const lower = name.toLowerCase();
    headers = headers.map(([n, v]) => (n.toLowerCase() === lower ? [n, swap(v)] : [n, v]));
  };
  switch (spec.style) {
    case 'bearer':
      inHeaders('authorization', (v) =>
        /^bearer\s/i.test(v) ? v.replaceAll(placeholder, headerSafe(spec.key, value)) : v,
      );
      break;
    case 'basic':
      inHeaders('authorization', (v) => {
        const m = /^(basic)(\s+)([A-Za-z0-9+/=_-]+)\s*$/i.exec(v);
        if (m === null) return v;
        const decoded = Buffer.from(m[3]!, 'base64').toString('latin1');
        // Bytes as latin1 text both ways, so a UTF-8 value goes in as its exact bytes.
        const swapped = decoded.replaceAll(
          placeholder,
          Buffer.from(headerSafe(spec.key, value), 'utf8').toString('latin1'),
        );
        return `${m[1]}${m[2]}${Buffer.from(swapped, 'latin1').toString('base64')}`;
      });
      break;
    case 'header':
      inHeaders(spec.target!, (v) => v.replaceAll(placeholder, headerSafe(spec.key, value)));
      break;
    case 'query': {
      const next = new URL(url.href);
      next.search = replaceInPairs(url.search.slice(1), spec.target!, placeholder, value);
      url = next;
      break;
    }
    case 'body':
      if (body !== undefined) {
        const escaped = JSON.stringify(value).slice(1, -1);
        body = Buffer.from(body.toString('utf8').replaceAll(placeholder, escaped), 'utf8');
      }
      break;
    case 'form':
      if (body !== undefined) {
        body = Buffer.from(
          replaceInPairs(body.toString('latin1'), spec.target!, placeholder, value),
          'latin1',
        );
      }
      break;
  }
  return { url, headers, body };
}

/**
 * SECRET_NOT_FOUND, quoting no name: what was given where a name belongs may be a value pasted by mistake, and an
 * error travels to terminals, MCP results and logs.
 */
export function secretNotFound(
  project?: string,
  hint = 'run `agentsecrets secrets list` to see the names, or `agentsecrets secrets set` to add it',
): AgentSecretsError {
  const where = project === undefined ? 'this project' : `project ${project}`;
  return new AgentSecretsError('SECRET_NOT_FOUND', `no secret of that name in ${where}`, { hint });
}
