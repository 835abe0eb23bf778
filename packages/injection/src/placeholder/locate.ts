import { AgentSecretsError } from '@agentsecrets/errors';
import { createInjectionSpec, FORBIDDEN_HEADERS, type InjectionSpec } from '../spec/spec.js';
import { findPlaceholders, type PlaceholderSet } from './placeholders.js';

/** A request as the forward proxy received it, before anything is replaced. */
export interface PlaceholderRequest {
  readonly url: URL;
  readonly headers: readonly (readonly [string, string])[];
  /** The body when it was read for scanning (JSON, form, text types under the size bound); else undefined. */
  readonly body: Buffer | undefined;
}

// Headers a request cannot carry a credential in (the transport owns them, and the proxy hop's credential is the
// run's); a placeholder there is not sent.
const NOT_INJECTABLE: ReadonlySet<string> = new Set([...FORBIDDEN_HEADERS, 'proxy-authorization']);

function nowhere(name: string, where: string, hint: string): AgentSecretsError {
  return new AgentSecretsError(
    'INJECTION_NOT_ALLOWED',
    `the placeholder of ${name} was found in ${where}, where it cannot be replaced`,
    { hint },
  );
}

function named(set: PlaceholderSet, text: string): { name: string; placeholder: string }[] {
  return findPlaceholders(set, text);
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Placeholders in `a=b&c=d`: one spec per (field, placeholder); one in a name is refused. */
function inUrlEncoded(
  set: PlaceholderSet,
  encoded: string,
  style: 'query' | 'form',
  out: InjectionSpec[],
): void {
  for (const pair of encoded.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const inName = named(set, rawName)[0];
    if (inName !== undefined) {
      throw nowhere(inName.name, `a ${style} parameter name`, 'send the placeholder as a parameter value');
    }
    for (const hit of named(set, rawValue)) {
      out.push(
        withPlaceholder(createInjectionSpec(style, decodeComponent(rawName), hit.name), hit.placeholder),
      );
    }
  }
}

function withPlaceholder(spec: InjectionSpec, placeholder: string): InjectionSpec {
  return { ...spec, placeholder };
}

/** JSON body: one spec per string value holding a placeholder, by its path; one in a member name is refused. */
function inJson(set: PlaceholderSet, text: string, out: InjectionSpec[]): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    const hit = named(set, text)[0]!;
    throw nowhere(
      hit.name,
      'a body that is not valid JSON',
      'send a valid JSON body, or the placeholder in a header',
    );
  }
  const walk = (node: unknown, path: string): void => {
    if (typeof node === 'string') {
      const hits = named(set, node);
      if (path === '' && hits.length > 0) {
        throw nowhere(hits[0]!.name, 'a JSON body that is a bare string', 'put it in an object member');
      }
      for (const hit of hits)
        out.push(withPlaceholder(createInjectionSpec('body', path, hit.name), hit.placeholder));
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => {
        walk(item, `${path}[${i}]`);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        const inKey = named(set, key)[0];
        if (inKey !== undefined) throw nowhere(inKey.name, 'a JSON member name', 'send it as a value');
        const plain = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key);
        const step = plain ? key : `[${JSON.stringify(key)}]`;
        walk(value, path === '' ? step : plain ? `${path}.${step}` : `${path}${step}`);
      }
    }
  };
  walk(doc, '');
}

/**
 * Where the placeholders of a run are in a request, as injection specs carrying the placeholder: the same styles the
 * policy judges for every other transport (SPEC §7), so a placeholder is replaced only where its secret may go.
 *
 * - `Authorization: Bearer …` → `bearer`; `Authorization: Basic …` (decoded) → `basic`; any other header → `header:Name`
 * - a query parameter → `query:param`; a JSON body string → `body:a.b[0]`; a form field → `form:field`
 *
 * A placeholder anywhere else (the URL path, a parameter or member name, an unstructured body) is refused with
 * INJECTION_NOT_ALLOWED: it would otherwise go out where no policy judged it.
 */
export function locatePlaceholders(
  set: PlaceholderSet,
  request: PlaceholderRequest,
  contentType: string | undefined,
): InjectionSpec[] {
  const out: InjectionSpec[] = [];
  if (set.byPlaceholder.size === 0) return out;
  const pathHit = named(set, request.url.pathname)[0];
  if (pathHit !== undefined) {
    throw nowhere(
      pathHit.name,
      'the URL path',
      'send it in a header, or as a query parameter its owner bound',
    );
  }
  const userHit = named(set, `${request.url.username}:${request.url.password}`)[0];
  if (userHit !== undefined) {
    throw nowhere(userHit.name, 'the URL userinfo', 'send it in an Authorization header');
  }
  inUrlEncoded(set, request.url.search.slice(1), 'query', out);
  for (const [name, value] of request.headers) {
    const lower = name.toLowerCase();
    const hits = named(set, value);
    if (lower === 'authorization') {
      const basic = /^basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(value);
      if (basic !== null) {
        const decoded = Buffer.from(basic[1]!, 'base64').toString('latin1');
        for (const hit of named(set, decoded))
          out.push(withPlaceholder(createInjectionSpec('basic', undefined, hit.name), hit.placeholder));
        continue;
      }
      if (/^bearer\s/i.test(value)) {
        for (const hit of hits)
          out.push(withPlaceholder(createInjectionSpec('bearer', undefined, hit.name), hit.placeholder));
        continue;
      }
    }
    if (hits.length === 0) continue;
    if (NOT_INJECTABLE.has(lower)) {
      throw nowhere(hits[0]!.name, `the ${lower} header`, 'send it in Authorization or another header');
    }
    for (const hit of hits)
      out.push(withPlaceholder(createInjectionSpec('header', name, hit.name), hit.placeholder));
  }
  if (request.body !== undefined && request.body.length > 0) {
    const text = request.body.toString('latin1');
    if (named(set, text).length > 0) {
      const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
      if (type === 'application/json' || type.endsWith('+json'))
        inJson(set, request.body.toString('utf8'), out);
      else if (type === 'application/x-www-form-urlencoded') inUrlEncoded(set, text, 'form', out);
      else {
        throw nowhere(
          named(set, text)[0]!.name,
          `a ${type || 'untyped'} body`,
          'send it in a header, a JSON body or a form body',
        );
      }
    }
  }
  return out;
}
