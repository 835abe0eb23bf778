import { basename } from 'node:path';
import { randomId } from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import { readJsonFile, writeJsonFile } from '@agentsecrets/fs';
import { type BackendName, openSecretStore } from '@agentsecrets/keychain';
import { policyAnchor } from './anchor.js';
import { ensureHome, resolveHome } from './home.js';
import {
  assertName,
  type Config,
  ConfigSchema,
  type ProjectRef,
  projectNameFrom,
  type Workspace,
} from './model.js';
import { createOwnerKey, unlockOwnerKey } from './owner.js';
import { writeProjectLink } from './project-link.js';

/** Options of {@link initAgentSecrets}. */
export interface InitOptions {
  readonly home?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** The project directory to link; default `process.cwd()`. */
  readonly cwd?: string;
  /** The owner passphrase: chosen now on a first init, checked on later ones. */
  readonly passphrase: string;
  /** The vault backend to record in config.json. */
  readonly keychain?: BackendName;
  /** Project name; default the directory's name. */
  readonly projectName?: string;
}

/** What {@link initAgentSecrets} did. */
export interface InitResult {
  readonly home: string;
  readonly created: boolean;
  readonly workspace: Workspace;
  readonly project: ProjectRef;
  readonly linkPath: string;
}

/** Shortest owner passphrase accepted. */
export const MIN_PASSPHRASE_LENGTH = 8;

/**
 * Sets up AgentSecrets: on first use creates the home (0700), the owner's signing key sealed under the passphrase,
 * a local `personal` workspace; then links `cwd` to a project (created if needed). Running it again in another
 * directory links that one, after checking the passphrase.
 */
export async function initAgentSecrets(options: InitOptions): Promise<InitResult> {
  const paths = resolveHome(options.env ?? process.env, options.home);
  const cwd = options.cwd ?? process.cwd();
  const projectName = assertName('project', options.projectName ?? projectNameFrom(basename(cwd)));
  await ensureHome(paths);
  let config = await readJsonFile(paths.config, ConfigSchema);
  const created = config === undefined;
  if (config === undefined) {
    if (options.passphrase.length < MIN_PASSPHRASE_LENGTH) {
      throw new AgentSecretsError(
        'INVALID_ARGUMENT',
        `the owner passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`,
        { hint: 'choose a longer passphrase; it guards every widening of what agents can reach' },
      );
    }
    const { record } = await createOwnerKey(options.passphrase);
    const workspace: Workspace = { id: randomId('ws'), name: 'personal', kind: 'personal', projects: [] };
    config = {
      version: 1,
      currentWorkspace: workspace.id,
      workspaces: [workspace],
      owner: record,
      ...(options.keychain === undefined ? {} : { keychain: options.keychain }),
    } satisfies Config;
  } else {
    await unlockOwnerKey(config.owner, options.passphrase);
    if (options.keychain !== undefined) config.keychain = options.keychain;
  }
  const workspace = config.workspaces.find((w) => w.id === config.currentWorkspace) ?? config.workspaces[0]!;
  let project = workspace.projects.find((p) => p.name === projectName);
  if (project === undefined) {
    project = { id: randomId('prj'), name: projectName };
    workspace.projects.push(project);
  }
  config.currentProject ??= project.id;
  await writeJsonFile(paths.config, ConfigSchema, config);
  if (created) {
    // The vault learns the new owner key: from now on a policy is checked against it, whatever config.json says.
    const env = options.env ?? process.env;
    const backend = (env.AGENTSECRETS_KEYCHAIN as BackendName | undefined) || config.keychain;
    const store = await openSecretStore({
      home: paths.home,
      env,
      ...(backend === undefined ? {} : { backend }),
      passphrase: options.passphrase,
    });
    await policyAnchor(store).set({ version: 1, ownerPublicKey: config.owner.publicKey, serial: 0 });
  }
  const linkPath = await writeProjectLink(cwd, {
    version: 1,
    workspace: { id: workspace.id, name: workspace.name },
    project,
  });
  return { home: paths.home, created, workspace, project, linkPath };
}
