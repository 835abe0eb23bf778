import { AgentSecretsError } from '@agentsecrets/errors';

/** Where a secret lives: a workspace id and a project id. Both are ids, never names a person typed freely. */
export interface Namespace {
  /** The workspace id, e.g. `local` or `ws_3f9a…`. */
  readonly workspace: string;
  /** The project id within the workspace. */
  readonly project: string;
}

/**
 * What a secret may be called, everywhere: the vault, the policy, injection specs, the audit log, the sync wire,
 * dotenv import, the MCP tools. Names fit an environment variable, a keychain account and a JSON key without escaping,
 * and are safe to show (a name is never a value).
 */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** What a workspace or project id (a store namespace) may be: joined into keychain service names and file keys. */
export const NAMESPACE_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** True when `name` is a valid secret name ({@link SECRET_NAME_PATTERN}). */
export function isSecretName(name: unknown): name is string {
  return typeof name === 'string' && SECRET_NAME_PATTERN.test(name);
}

const SECRET_NAME_HINT =
  'a secret name starts with a letter or `_` and continues with letters, digits, `_`, `.` or `-` (at most 128 characters), e.g. STRIPE_KEY';

/**
 * Why `input` does not match `pattern`, told without quoting the input: a string passed where a name was expected
 * may be a value (`KEY=sk_live_…`), so an error never echoes it.
 */
function describeMismatch(input: string, max: number, firstAllowsDigit: boolean): string {
  if (input.length === 0) return 'it is empty';
  if (input.length > max) return `it is ${input.length} characters long (at most ${max})`;
  const first = input[0]!;
  if (!/[A-Za-z_]/.test(first) && !(firstAllowsDigit && /[0-9]/.test(first))) {
    return 'its first character is not allowed';
  }
  if (input.includes('=')) return 'it contains `=` (give the name alone, not NAME=VALUE)';
  const bad = [...input].find((c) => !/[A-Za-z0-9_.-]/.test(c));
  if (bad !== undefined && /^[\x21-\x7e]$/.test(bad)) return `it contains \`${bad}\``;
  if (bad === ' ') return 'it contains a space';
  return 'it contains a character outside letters, digits, `_`, `.` and `-`';
}

/**
 * Checks a secret name and returns it unchanged, or throws `INVALID_SECRET_NAME` with a hint.
 *
 * Names match {@link SECRET_NAME_PATTERN}. The error never quotes the rejected string, since it may be a value pasted
 * in the wrong place.
 *
 * @example
 * ```ts
 * assertSecretName('STRIPE_KEY'); // 'STRIPE_KEY'
 * assertSecretName('STRIPE_KEY=sk_live_x'); // throws INVALID_SECRET_NAME
 * ```
 */
export function assertSecretName(name: string): string {
  if (isSecretName(name)) return name;
  const reason = typeof name === 'string' ? describeMismatch(name, 128, false) : `it is a ${typeof name}`;
  throw new AgentSecretsError('INVALID_SECRET_NAME', `invalid secret name: ${reason}`, {
    hint: SECRET_NAME_HINT,
  });
}

/**
 * Checks a {@link Namespace} and returns a frozen copy, or throws `INVALID_ARGUMENT`. Workspace and project ids match
 * {@link NAMESPACE_ID_PATTERN}, so they can be joined into a keychain service name or a file key safely.
 */
export function assertNamespace(ns: Namespace): Namespace {
  if (typeof ns !== 'object' || ns === null) {
    throw new AgentSecretsError(
      'INVALID_ARGUMENT',
      'namespace must be an object with workspace and project ids',
      {
        hint: 'pass { workspace, project } ids, e.g. { workspace: "local", project: "default" }',
      },
    );
  }
  for (const field of ['workspace', 'project'] as const) {
    const id: unknown = ns[field];
    if (typeof id === 'string' && NAMESPACE_ID_PATTERN.test(id)) continue;
    const reason = typeof id === 'string' ? describeMismatch(id, 128, true) : `it is ${typeof id}`;
    throw new AgentSecretsError('INVALID_ARGUMENT', `invalid ${field} id: ${reason}`, {
      hint: `a ${field} id uses letters, digits, \`_\`, \`.\` and \`-\`, starts with a letter, digit or \`_\`, at most 128 characters`,
    });
  }
  return Object.freeze({ workspace: ns.workspace, project: ns.project });
}
