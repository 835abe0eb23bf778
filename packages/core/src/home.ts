import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AgentSecretsError } from '@agentsecrets/errors';
import { writeFileAtomic } from '@agentsecrets/keychain';
import type { z } from 'zod';

/** The files under `$AGENTSECRETS_HOME` (SPEC.md §2). */
export interface HomePaths {
  readonly home: string;
  readonly config: string;
  readonly policy: string;
  readonly audit: string;
  readonly proxy: string;
  readonly vault: string;
}

/** Where AgentSecrets keeps its state: `$AGENTSECRETS_HOME`, default `~/.agentsecrets`. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env, explicit?: string): HomePaths {
  const home = explicit ?? (env.AGENTSECRETS_HOME || join(homedir(), '.agentsecrets'));
  return {
    home,
    config: join(home, 'config.json'),
    policy: join(home, 'policy.json'),
    audit: join(home, 'audit.jsonl'),
    proxy: join(home, 'proxy.json'),
    vault: join(home, 'vault.json'),
  };
}

/** Creates the home directory (0700) if it is missing. */
export async function ensureHome(paths: HomePaths): Promise<void> {
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
}

/**
 * Reads and validates a JSON state file. A missing file is `undefined`; an unreadable or invalid one is a
 * CONFIG_INVALID error naming the file, never echoing its content.
 */
export async function readJsonFile<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AgentSecretsError('CONFIG_INVALID', `cannot read ${path}`, {
      hint: 'check the file permissions',
      cause: e,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new AgentSecretsError('CONFIG_INVALID', `${path} is not valid JSON`, {
      hint: 'restore it from a backup or remove it and run `agentsecrets init` again',
      cause: e,
    });
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') || '(top level)';
    throw new AgentSecretsError('CONFIG_INVALID', `${path} has an invalid field: ${where}`, {
      hint: 'restore it from a backup or remove it and run `agentsecrets init` again',
    });
  }
  return parsed.data;
}

/** Writes a JSON state file atomically with mode 0600. */
export async function writeJsonFile(path: string, data: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`);
}
