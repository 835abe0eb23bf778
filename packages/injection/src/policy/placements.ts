import { AgentSecretsError } from '@agentsecrets/errors';
import {
  DEFAULT_STYLES,
  formatPlacement,
  isDefaultStyle,
  type Placement,
  placementAllows,
} from '../spec/placement.js';
import type { InjectionSpec } from '../spec/spec.js';
import { type Binding, bindingMatches, checkBindings, type Destination, formatBinding } from './policy.js';

const SHELL_SAFE = /^[A-Za-z0-9_.:/@%+=-]+$/;

function shellWord(text: string): string {
  return SHELL_SAFE.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function flagFor(p: Placement): string {
  return p.target === undefined ? `--${p.style}` : `--${p.style} ${shellWord(p.target)}`;
}

function bindCommand(
  key: string,
  destination: string,
  methods: readonly string[],
  places: Placement[],
): string {
  const unique = [...new Map(places.map((p) => [formatPlacement(p), p])).values()];
  const flags = unique.map(flagFor);
  if (methods.length > 0) flags.push(`--method ${methods.join(' ')}`);
  return `agentsecrets secrets bind ${key} ${destination} ${flags.join(' ')}`;
}

/** `host[:port]` of a destination as a binding names it (the port only when it is not the scheme's default). */
function destinationText(dest: Destination): string {
  const host = dest.hostKind === 'ipv6' ? `[${dest.host}]` : dest.host;
  const defaultPort = dest.scheme === 'https' ? 443 : 80;
  return dest.port === defaultPort ? host : `${host}:${dest.port}`;
}

/**
 * The rule that where a secret goes inside a request belongs to the secret, not to the caller. Checks one secret's
 * injections against its bindings, before any secret is read:
 *
 * - the destination must be one the secret's bindings allow (BINDING_VIOLATION, as {@link checkBindings});
 * - each injection must be a placement allowed there (INJECTION_NOT_ALLOWED): by default (no binding, or a binding
 *   that names no placements) only the header styles `bearer`, `basic` and `header:NAME`; a binding that names
 *   placements allows exactly those. So `query`, `body` and `form` need an owner-signed binding naming the field.
 */
export function checkPlacements(
  secretName: string,
  bindings: readonly Binding[],
  dest: Destination,
  method: string,
  specs: readonly InjectionSpec[],
): void {
  checkBindings(secretName, bindings, dest, method);
  const matching = bindings.filter((b) => bindingMatches(b, dest, method));
  const allows = (b: Binding | undefined, spec: InjectionSpec) =>
    b === undefined || b.placements.length === 0
      ? isDefaultStyle(spec.style)
      : b.placements.some((p) => placementAllows(p, spec));
  for (const spec of specs) {
    if (spec.key !== secretName) continue;
    if (matching.length === 0 ? allows(undefined, spec) : matching.some((b) => allows(b, spec))) continue;
    const where = dest.display.replace(/^[a-z]+:\/\//, '');
    const asked = formatPlacement(spec);
    const explicit = matching.filter((b) => b.placements.length > 0);
    const message =
      explicit.length > 0 && explicit.length === matching.length
        ? `${secretName} may be injected at ${where} only as ${[...new Set(explicit.flatMap((b) => b.placements.map(formatPlacement)))].join(', ')}, not as ${asked}`
        : `${secretName} may not be injected as ${asked} at ${where}: without an owner's binding that names the field, a secret goes only into headers (${DEFAULT_STYLES.join(', ')}:NAME)`;
    const base = matching[0];
    const command =
      base === undefined
        ? bindCommand(secretName, destinationText(dest), [], [spec])
        : bindCommand(secretName, formatBinding(base), base.methods, [...base.placements, spec]);
    throw new AgentSecretsError('INJECTION_NOT_ALLOWED', message, {
      hint: `if it should go there, the owner can run \`${command}\` (a binding that names places allows only those: list every one that destination needs)`,
    });
  }
}
