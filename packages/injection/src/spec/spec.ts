import { AgentSecretsError } from '@agentsecrets/errors';
import { isSecretName } from '@agentsecrets/names';

/** The six ways a credential can be put into a request. */
export type InjectionStyle = 'bearer' | 'basic' | 'header' | 'query' | 'body' | 'form';

/** The order in which specs are applied, whatever order they were given in. */
export const INJECTION_STYLES: readonly InjectionStyle[] = [
  'bearer',
  'basic',
  'header',
  'query',
  'body',
  'form',
];

/**
 * One credential to inject: which secret, in which style, and where (header name, query parameter, JSON body path or
 * form field). `target` is kept exactly as given: a query parameter `api_Key` stays `api_Key`.
 */
export interface InjectionSpec {
  readonly style: InjectionStyle;
  readonly target: string | undefined;
  readonly key: string;
  /**
   * Set for `agentsecrets run`: the secret's per-run placeholder, already in the request at this place; the value
   * replaces it there instead of being written in. Only the forward proxy makes such specs (never a caller's header).
   */
  readonly placeholder?: string;
}

const TARGETED: ReadonlySet<InjectionStyle> = new Set(['header', 'query', 'body', 'form']);
// RFC 9110 token: what may stand in a header name.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Headers whose value the transport owns; injecting into them would break framing or routing.
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
]);
const MAX_TARGET_LENGTH = 256;

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function invalid(message: string, hint: string): AgentSecretsError {
  return new AgentSecretsError('INVALID_INJECTION', message, { hint });
}

/** Printable text for a target in an error message: names only, bounded, no control characters. */
function shown(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 61)}...` : clean;
}

/**
 * Builds one validated spec. Every entry point (proxy headers, MCP objects, CLI flags, `style:target=KEY` text) ends
 * here, so all transports accept and refuse exactly the same things.
 */
export function createInjectionSpec(style: string, target: string | undefined, key: string): InjectionSpec {
  const normalizedStyle = style.toLowerCase();
  if (!(INJECTION_STYLES as readonly string[]).includes(normalizedStyle)) {
    throw invalid(
      /^[A-Za-z-]{1,16}$/.test(style) ? `unknown injection style "${style}"` : 'unknown injection style',
      'use one of bearer, basic, header:NAME, query:PARAM, body:PATH, form:FIELD',
    );
  }
  const s = normalizedStyle as InjectionStyle;
  if (!isSecretName(key)) {
    // Not quoted: a value pasted where a name belongs must not be echoed back.
    throw invalid(
      `the secret named for the ${s} injection is not a valid secret name`,
      'name a secret as it appears in `agentsecrets secrets list` (letters, digits, _ . -)',
    );
  }
  if (!TARGETED.has(s)) {
    if (target !== undefined && target !== '') {
      throw invalid(`the ${s} style takes no target`, `write ${s}=${key}`);
    }
    return { style: s, target: undefined, key };
  }
  if (target === undefined || target === '') {
    throw invalid(`the ${s} style needs a target`, `write ${s}:NAME=${key}`);
  }
  if (target.length > MAX_TARGET_LENGTH || hasControlCharacter(target)) {
    throw invalid(
      `the ${s} target "${shown(target)}" is too long or holds control characters`,
      'use a plain name',
    );
  }
  if (s === 'header') {
    if (!HEADER_NAME.test(target)) {
      throw invalid(`"${shown(target)}" is not a valid header name`, 'use letters, digits and - only');
    }
    if (FORBIDDEN_HEADERS.has(target.toLowerCase())) {
      throw invalid(`the ${target} header cannot carry a credential`, 'inject into another header');
    }
  }
  return { style: s, target, key };
}

/**
 * Parses `style[:target]=KEY`, the textual form used by the proxy's injection header and by configuration.
 *
 * @example
 * ```ts
 * parseInjectionSpec('query:api_Key=WEATHER_KEY'); // { style: 'query', target: 'api_Key', key: 'WEATHER_KEY' }
 * parseInjectionSpec('bearer=STRIPE_KEY');
 * ```
 */
export function parseInjectionSpec(text: string): InjectionSpec {
  // Split at the first '=': styles, header names and parameter names hold none, and neither does a secret name.
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw invalid('an injection is not in the form style[:target]=KEY', 'e.g. query:api_key=WEATHER_KEY');
  }
  return parseSpecKey(text.slice(0, eq).trim(), text.slice(eq + 1).trim());
}

/** Parses the key of an MCP `injections` object entry (`"header:X-Api-Key"`) with its secret name. */
export function parseSpecKey(styleAndTarget: string, key: string): InjectionSpec {
  const colon = styleAndTarget.indexOf(':');
  return colon < 0
    ? createInjectionSpec(styleAndTarget, undefined, key)
    : createInjectionSpec(styleAndTarget.slice(0, colon), styleAndTarget.slice(colon + 1), key);
}

/**
 * Parses an `injections` object as the MCP tool and the library take it:
 * `{ "bearer": "KEY", "header:X-Api-Key": "KEY", "query:api_Key": "KEY", "body:a.b[0]": "KEY", "form:f": "KEY" }`.
 */
export function parseInjectionObject(injections: Readonly<Record<string, string>>): InjectionSpec[] {
  return validateInjections(Object.entries(injections).map(([k, v]) => parseSpecKey(k, v)));
}

/**
 * Parses the argument of a CLI flag: `--bearer KEY`, `--basic KEY`, `--header Name=KEY`, `--query param=KEY`,
 * `--body-field a.b[0].c=KEY`, `--form-field f=KEY`.
 */
export function parseCliInjection(style: InjectionStyle, argument: string): InjectionSpec {
  if (!TARGETED.has(style)) return createInjectionSpec(style, undefined, argument.trim());
  const eq = argument.indexOf('=');
  if (eq <= 0) {
    throw invalid(`--${style} needs the form NAME=KEY`, `e.g. --${style} api_key=WEATHER_KEY`);
  }
  return createInjectionSpec(style, argument.slice(0, eq), argument.slice(eq + 1).trim());
}

function slotOf(spec: InjectionSpec): string {
  switch (spec.style) {
    case 'bearer':
    case 'basic':
      return 'header:authorization';
    case 'header':
      return `header:${spec.target!.toLowerCase()}`;
    case 'query':
      return `query:${spec.target}`;
    case 'body':
    case 'form':
      return `${spec.style}:${spec.target}`;
  }
}

/**
 * Checks a set of specs can be applied together and returns them in application order (by style, then as given).
 * Two specs writing the same place (bearer and basic both set Authorization; the same header, parameter, path or
 * field twice) and a JSON body path together with a form field are refused.
 */
export function validateInjections(specs: readonly InjectionSpec[]): InjectionSpec[] {
  const seen = new Map<string, InjectionSpec>();
  for (const spec of specs) {
    // A placeholder is replaced where it already is: several in one place (two in one header) write nothing over.
    if (spec.placeholder !== undefined) continue;
    const slot = slotOf(spec);
    const earlier = seen.get(slot);
    if (earlier !== undefined) {
      throw invalid(
        `${earlier.key} and ${spec.key} would both be written to the same place (${slot})`,
        'inject each credential into its own header, parameter, path or field',
      );
    }
    seen.set(slot, spec);
  }
  const written = specs.filter((s) => s.placeholder === undefined);
  if (written.some((s) => s.style === 'body') && written.some((s) => s.style === 'form')) {
    throw invalid('a request body is either JSON (body:) or a form (form:), not both', 'use one body style');
  }
  return [...specs].sort((a, b) => INJECTION_STYLES.indexOf(a.style) - INJECTION_STYLES.indexOf(b.style));
}

/** The canonical text of a spec, `style[:target]=KEY` (the inverse of {@link parseInjectionSpec}). */
export function formatInjectionSpec(spec: InjectionSpec): string {
  return spec.target === undefined ? `${spec.style}=${spec.key}` : `${spec.style}:${spec.target}=${spec.key}`;
}
