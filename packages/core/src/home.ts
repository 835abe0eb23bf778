import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

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
