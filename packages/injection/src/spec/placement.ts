import { AgentSecretsError } from '@agentsecrets/errors';
import { parseBodyPath } from './json-path.js';
import { createInjectionSpec, type InjectionSpec, type InjectionStyle } from './spec.js';

/**
 * Where in a request a secret may be written, as its owner allowed it: a style and, for `header`, `query`, `body` and
 * `form`, the name it is written under. The injection location belongs to the secret, not to the caller.
 */
export interface Placement {
  readonly style: InjectionStyle;
  readonly target: string | undefined;
}

/**
 * The styles a secret may be injected with when its owner said nothing else: the ones that put it into a request
 * header, where an upstream does not store it as data the caller can read back in pieces.
 */
export const DEFAULT_STYLES: readonly InjectionStyle[] = ['bearer', 'basic', 'header'];

/** True for the styles allowed without an owner's binding that names the field. */
export function isDefaultStyle(style: InjectionStyle): boolean {
  return DEFAULT_STYLES.includes(style);
}

/**
 * Parses `bearer`, `basic`, `header:NAME`, `query:PARAM`, `body:PATH` or `form:FIELD`: the same styles and targets an
 * injection takes, checked by the same rules.
 *
 * @example
 * ```ts
 * parsePlacement('query:api_key'); // { style: 'query', target: 'api_key' }
 * ```
 */
export function parsePlacement(text: string): Placement {
  const colon = text.indexOf(':');
  const style = colon < 0 ? text : text.slice(0, colon);
  const target = colon < 0 ? undefined : text.slice(colon + 1);
  // A placeholder secret name: the rules for styles and targets do not depend on which secret it is.
  const spec = createInjectionSpec(style, target, 'PLACEMENT');
  if (spec.style === 'body') parseBodyPath(spec.target!);
  return { style: spec.style, target: spec.target };
}

/** The canonical text of a placement, `style[:target]` (the inverse of {@link parsePlacement}). */
export function formatPlacement(placement: Placement): string {
  return placement.target === undefined ? placement.style : `${placement.style}:${placement.target}`;
}

function sameBodyPath(a: string, b: string): boolean {
  try {
    return JSON.stringify(parseBodyPath(a)) === JSON.stringify(parseBodyPath(b));
  } catch {
    return false;
  }
}

/**
 * Does a placement allow this injection? Same style, and the same target: header names compare case-insensitively
 * (HTTP says they are), query parameters and form fields exactly, body paths by the members and indexes they name.
 */
export function placementAllows(placement: Placement, spec: InjectionSpec): boolean {
  if (placement.style !== spec.style) return false;
  switch (spec.style) {
    case 'bearer':
    case 'basic':
      return true;
    case 'header':
      return placement.target?.toLowerCase() === spec.target?.toLowerCase();
    case 'body':
      return (
        placement.target !== undefined &&
        spec.target !== undefined &&
        sameBodyPath(placement.target, spec.target)
      );
    case 'query':
    case 'form':
      return placement.target === spec.target;
  }
}

/** Placements as stored: canonical text, sorted, without repeats. Throws INVALID_INJECTION on a bad one. */
export function canonicalPlacements(texts: readonly string[]): string[] {
  if (texts.length > 32) {
    throw new AgentSecretsError('INVALID_INJECTION', 'a binding names at most 32 places to inject into', {
      hint: 'name only the fields the destination needs',
    });
  }
  return [...new Set(texts.map((t) => formatPlacement(parsePlacement(t))))].sort();
}
