import { randomId } from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import { readJsonFile, writeJsonFile } from '@agentsecrets/fs';
import type { SecretStore } from '@agentsecrets/keychain';
import { assertName, type Config, ConfigSchema, type ProjectRef, type Workspace } from './model.js';
import type { OwnerKey } from './owner.js';
import { type PolicyStore, workspacePolicy } from './policy.js';

/** What {@link Projects} works with. */
export interface ProjectsParts {
  /** `$AGENTSECRETS_HOME/config.json`, and the config as it was opened (used when the file is gone). */
  readonly configPath: string;
  readonly config: Config;
  readonly workspace: Workspace;
  readonly store: SecretStore;
  readonly policy: PolicyStore;
}

/** Projects of the current workspace: create, choose the default, delete (owner) with their secrets and policy. */
export class Projects {
  readonly #p: ProjectsParts;

  constructor(parts: ProjectsParts) {
    this.#p = parts;
  }

  list(): ProjectRef[] {
    return [...this.#p.workspace.projects];
  }

  async create(name: string): Promise<ProjectRef> {
    assertName('project', name);
    const { workspace } = this.#p;
    if (workspace.projects.some((p) => p.name === name)) {
      throw new AgentSecretsError('INVALID_ARGUMENT', `project ${name} already exists`, {
        hint: `use it with \`agentsecrets project use ${name}\``,
      });
    }
    const project = { id: randomId('prj'), name };
    await this.#saveConfig((c) => {
      c.workspaces.find((w) => w.id === workspace.id)?.projects.push(project);
    });
    workspace.projects.push(project);
    return project;
  }

  /** Makes a project the default where no project link applies. */
  async use(name: string): Promise<ProjectRef> {
    const project = this.#find(name);
    await this.#saveConfig((c) => {
      c.currentProject = project.id;
    });
    return project;
  }

  /** Deletes a project, its secrets and its policy (owner). */
  async delete(name: string, owner: OwnerKey): Promise<void> {
    const { workspace, store } = this.#p;
    const project = this.#find(name);
    const ns = { workspace: workspace.id, project: project.id };
    for (const key of await store.list(ns)) await store.delete(ns, key);
    await this.#p.policy.update(owner, (body) => {
      delete workspacePolicy(body, workspace.id).projects[project.id];
    });
    await this.#saveConfig((c) => {
      const ws = c.workspaces.find((w) => w.id === workspace.id);
      if (ws !== undefined) ws.projects = ws.projects.filter((p) => p.id !== project.id);
      if (c.currentProject === project.id) delete c.currentProject;
    });
    workspace.projects.splice(workspace.projects.indexOf(project), 1);
  }

  #find(nameOrId: string): ProjectRef {
    const project = this.#p.workspace.projects.find((p) => p.name === nameOrId || p.id === nameOrId);
    if (project === undefined) {
      throw new AgentSecretsError(
        'PROJECT_NOT_FOUND',
        `no project named ${nameOrId.slice(0, 64)} in this workspace`,
        { hint: 'run `agentsecrets project list` to see the projects' },
      );
    }
    return project;
  }

  async #saveConfig(mutate: (config: Config) => void): Promise<void> {
    const latest = (await readJsonFile(this.#p.configPath, ConfigSchema)) ?? this.#p.config;
    mutate(latest);
    await writeJsonFile(this.#p.configPath, ConfigSchema, latest);
  }
}
