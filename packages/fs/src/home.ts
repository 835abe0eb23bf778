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

/**
 * Where AgentSecrets keeps its state: `$AGENTSECRETS_HOME`, default `~/.agentsecrets`. Defined here, below the core,
 * so that a client finding the running proxy (the CLI, the MCP server) knows the home without loading the core.
 */
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
