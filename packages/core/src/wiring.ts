import { type AuditEventInput, AuditLog } from '@agentsecrets/audit';
import { type EngineOptions, InjectionEngine } from '@agentsecrets/injection';
import type { SecretStore } from '@agentsecrets/keychain';
import { policyAnchor } from './anchor.js';
import { AuditTrail } from './audit-trail.js';
import { Calls } from './calls.js';
import type { ProxyInfo } from './credential-client.js';
import type { HomePaths } from './home.js';
import type { Config, ProjectRef, Workspace } from './model.js';
import { PolicyStore } from './policy.js';
import { AllowlistAdmin, BindingsAdmin, PolicyInForce } from './policy-admin.js';
import { ProjectSecrets } from './project-secrets.js';
import { Projects } from './projects.js';
import { type ProjectScope, SecretCache } from './secret-cache.js';
import { type TeamProject, TeamSync } from './team.js';

// Small factories that wire the core's parts from what `createAgentSecrets` opened (like sigstore-js's config.ts):
// each part gets the narrow things it uses, and the facade in agent-secrets.ts only delegates.

/** What was opened for one home and project: the input of {@link wireCore}. */
export interface OpenedCore {
  readonly paths: HomePaths;
  readonly config: Config;
  readonly store: SecretStore;
  readonly workspace: Workspace;
  readonly project: ProjectRef;
}

/** Settings of the parts (a subset of `AgentSecretsOptions`). */
export interface WiringOptions {
  readonly server: string | undefined;
  readonly secretCacheMs: number;
  readonly engine: Pick<EngineOptions, 'timeouts' | 'maxRequestBodyBytes' | 'lookup' | 'tls'> | undefined;
  readonly runningProxy: () => Promise<ProxyInfo | null>;
}

/** The parts the facade delegates to. */
export interface CoreParts extends OpenedCore {
  readonly audit: AuditTrail;
  readonly calls: Calls;
  readonly secrets: ProjectSecrets;
  readonly cache: SecretCache;
  readonly policy: PolicyInForce;
  readonly allowlist: AllowlistAdmin;
  readonly bindings: BindingsAdmin;
  readonly projects: Projects;
  readonly team: TeamSync;
  readonly runningProxy: () => Promise<ProxyInfo | null>;
}

/** The current project as team sync sees it: names, values, and writes that the secret cache learns of. */
function teamProject(
  store: SecretStore,
  project: ProjectScope,
  cache: SecretCache,
): TeamProject & { readonly name: string } {
  return {
    name: project.name,
    names: () => store.list(project.namespace),
    get: (name) => store.get(project.namespace, name),
    set: async (name, value) => {
      await store.set(project.namespace, name, value);
      cache.invalidate();
    },
  };
}

/** Builds the engine and every part of the core for one opened home and project. */
export function wireCore(opened: OpenedCore, options: WiringOptions): CoreParts {
  const { paths, config, store, workspace, project } = opened;
  const scope = { workspaceId: workspace.id, projectId: project.id };
  const projectScope = { namespace: { workspace: workspace.id, project: project.id }, name: project.name };
  const policyStore = new PolicyStore(paths.policy, config.owner.publicKey, policyAnchor(store));
  const cache = new SecretCache(store, projectScope, options.secretCacheMs);
  const audit = new AuditTrail(new AuditLog({ path: paths.audit }));
  const record = (event: AuditEventInput) => audit.record(event);
  const team = new TeamSync({
    vault: store,
    home: paths.home,
    server: options.server,
    project: teamProject(store, projectScope, cache),
    record,
  });
  const policy = new PolicyInForce(policyStore, team, scope);
  const engine = new InjectionEngine({
    ...options.engine,
    policy: policy.forEngine(),
    secrets: {
      resolve: (names) => cache.resolve(names),
      stored: (names) => cache.stored(names),
      redactor: (injected) => cache.redactorFor(injected),
    },
  });
  return {
    ...opened,
    audit,
    calls: new Calls({ audit, engine, policy }),
    secrets: new ProjectSecrets({ store, project: projectScope, scope, cache, policy, policyStore, record }),
    cache,
    policy,
    allowlist: new AllowlistAdmin(policyStore, workspace.id, store),
    bindings: new BindingsAdmin(policyStore, scope),
    projects: new Projects({ configPath: paths.config, config, workspace, store, policy: policyStore }),
    team,
    runningProxy: options.runningProxy,
  };
}
