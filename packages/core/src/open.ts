import { AgentSecretsError } from '@agentsecrets/errors';
import { readJsonFile } from '@agentsecrets/fs';
import type { EngineOptions } from '@agentsecrets/injection';
import {
  type BackendName,
  openSecretStore,
  type PassphraseSource,
  type SecretStore,
} from '@agentsecrets/keychain';
import { AgentSecrets } from './agent-secrets.js';
import type { ProxyInfo } from './credential-client.js';
import { type HomePaths, resolveHome } from './home.js';
import { lazyStore } from './lazy-store.js';
import { type Config, ConfigSchema } from './model.js';
import { findProjectLink } from './project-link.js';
import { wireCore } from './wiring.js';

/** Options of {@link createAgentSecrets}. */
export interface AgentSecretsOptions {
  /** `$AGENTSECRETS_HOME`; default from the environment, else `~/.agentsecrets`. */
  readonly home?: string;
  /** Where to look for the project link (`.agentsecrets/project.json`); default `process.cwd()`. */
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** A project name or id to use instead of the linked one. */
  readonly project?: string;
  /** A store to use instead of the configured backend (embedding, tests). */
  readonly store?: SecretStore;
  /**
   * Open the file vault (and ask for its passphrase) only when a secret is first used: for commands that read config
   * or the signed policy. A long-running process that drops the passphrase after opening must leave this off.
   */
  readonly lazyVault?: boolean;
  /** Unlocks the file vault; default `AGENTSECRETS_PASSPHRASE`. */
  readonly passphrase?: PassphraseSource;
  /**
   * For a store that cannot tell when a value changed (the OS keychain): how long the project's values the redactor
   * is built from are kept, in ms. Default 30 s. Injected values are read for each call all the same, and one that
   * changed rebuilds the set. A store that can (the file vault) keeps them exactly until its revision changes.
   */
  readonly secretCacheMs?: number;
  /** Engine settings: timeouts, body limit, and (tests) the DNS lookup and TLS trust. */
  readonly engine?: Pick<EngineOptions, 'timeouts' | 'maxRequestBodyBytes' | 'lookup' | 'tls'>;
  /**
   * The running proxy of this home, for `status` (the core knows nothing of proxies; `@agentsecrets/proxy` passes
   * this). Default: none.
   */
  readonly runningProxy?: () => Promise<ProxyInfo | null>;
}

/** Loads config.json or explains that `init` has not been run (NOT_SET_UP). */
export async function loadConfig(paths: HomePaths): Promise<Config> {
  const config = await readJsonFile(paths.config, ConfigSchema);
  if (config === undefined) {
    throw new AgentSecretsError('NOT_SET_UP', `AgentSecrets is not set up in ${paths.home}`, {
      hint: 'run `agentsecrets init` first',
    });
  }
  return config;
}

/**
 * Opens AgentSecrets for the current directory: loads `$AGENTSECRETS_HOME/config.json` and the project link, opens
 * the store, then wires the signed policy, the audit log and the engine.
 */
export async function createAgentSecrets(options: AgentSecretsOptions = {}): Promise<AgentSecrets> {
  const env = options.env ?? process.env;
  const paths = resolveHome(env, options.home);
  const config = await loadConfig(paths);
  const link = await findProjectLink(options.cwd ?? process.cwd());
  const workspaceId = link?.workspace.id ?? config.currentWorkspace;
  const workspace = config.workspaces.find((w) => w.id === workspaceId);
  if (workspace === undefined) {
    throw new AgentSecretsError('PROJECT_NOT_FOUND', 'the linked workspace is not in this home', {
      hint: 'run `agentsecrets init` in the project directory, or set AGENTSECRETS_HOME to the home that created it',
    });
  }
  const wanted = options.project ?? link?.project.id ?? config.currentProject;
  const project =
    workspace.projects.find((p) => p.id === wanted || p.name === wanted) ??
    (wanted === undefined ? workspace.projects[0] : undefined);
  if (project === undefined) {
    throw new AgentSecretsError('PROJECT_NOT_FOUND', 'no project is linked to this directory', {
      hint: 'run `agentsecrets init` here, or `agentsecrets project use NAME`',
    });
  }
  const backend = (env.AGENTSECRETS_KEYCHAIN as BackendName | undefined) || config.keychain;
  const open = () =>
    openSecretStore({
      home: paths.home,
      env,
      ...(backend === undefined ? {} : { backend }),
      ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    });
  const store =
    options.store ??
    (backend === 'file' && options.lazyVault === true ? lazyStore('file', open) : await open());
  const parts = wireCore(
    { paths, config, store, workspace, project },
    {
      server: env.AGENTSECRETS_SERVER,
      secretCacheMs: options.secretCacheMs ?? 30_000,
      engine: options.engine,
      runningProxy: options.runningProxy ?? (async () => null),
    },
  );
  return new AgentSecrets(parts);
}
