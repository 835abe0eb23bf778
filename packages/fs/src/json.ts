import { AgentSecretsError } from '@agentsecrets/errors';
import { writeFileAtomic } from './atomic-write.js';
import { errnoCode, fileIoError } from './errors.js';
import { readRegularFile } from './regular.js';

/**
 * What a JSON file is checked with: a zod schema, or a hand-written check with the same two methods where loading
 * zod would cost more than the check (the proxy state a client reads at every start).
 */
export interface JsonSchema<T> {
  safeParse(data: unknown):
    | { readonly success: true; readonly data: T }
    | {
        readonly success: false;
        readonly error: { readonly issues: readonly { readonly path: readonly PropertyKey[] }[] };
      };
  parse(data: unknown): T;
}

const RESTORE_HINT = 'restore it from a backup or remove it and run `agentsecrets init` again';

/**
 * Reads and validates a JSON file. A missing file is `undefined`; one that cannot be read, or is not a regular file
 * (see openRegular), is `FILE_IO`; one that is not JSON or does not match `schema` is `CONFIG_INVALID` naming the
 * file and the first bad field, never echoing its content (a file in the wrong place may hold a value).
 *
 * @example
 * ```ts
 * const state = await readJsonFile(join(home, 'proxy.json'), ProxyStateSchema); // ProxyState | undefined
 * ```
 */
export async function readJsonFile<T>(path: string, schema: JsonSchema<T>): Promise<T | undefined> {
  let text: string;
  try {
    text = await readRegularFile(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw fileIoError('read', path, e);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new AgentSecretsError('CONFIG_INVALID', `${path} is not valid JSON`, {
      hint: RESTORE_HINT,
      cause: e,
    });
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') || '(top level)';
    throw new AgentSecretsError('CONFIG_INVALID', `${path} has an invalid field: ${where}`, {
      hint: RESTORE_HINT,
    });
  }
  return parsed.data;
}

/**
 * Checks `value` against `schema` and writes it as indented JSON, atomically and with mode 0600 (see
 * {@link writeFileAtomic}); `beforeRename` is the lock check of a writer holding one.
 */
export async function writeJsonFile<T>(
  path: string,
  schema: JsonSchema<T>,
  value: T,
  beforeRename?: () => Promise<void>,
): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(schema.parse(value), null, 2)}\n`, { beforeRename });
}
