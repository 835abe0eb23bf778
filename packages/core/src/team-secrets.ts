import { constantTimeEqual } from '@agentsecrets/crypto';
import type { SecretValue } from '@agentsecrets/keychain';
import type { SyncLocation } from '@agentsecrets/sync';
import type { TeamAccess } from './team-access.js';
import { acceptPolicy, storedPolicy } from './team-policy.js';

/** What `secrets diff` reports, by name only. */
export interface TeamSyncDiff {
  readonly localOnly: string[];
  readonly remoteOnly: string[];
  readonly changed: string[];
  readonly same: string[];
}

/** The current project as team sync sees it: its secrets, read and written in the local vault. */
export interface TeamProject {
  names(): Promise<string[]>;
  get(name: string): Promise<SecretValue | undefined>;
  set(name: string, value: Uint8Array): Promise<unknown>;
}

function versionKey(at: SyncLocation, name: string): string {
  return `${at.workspace.id}/${at.projectId}/${at.environment}/${name}`;
}

/**
 * Push, pull and diff of the current project's secrets with the selected team workspace: only ciphertext under a key
 * an admin granted us leaves this machine. sync.json remembers the versions seen, so a stale push is a conflict.
 */
export class TeamSecrets {
  readonly #access: TeamAccess;
  readonly #project: TeamProject;

  constructor(access: TeamAccess, project: TeamProject) {
    this.#access = access;
    this.#project = project;
  }

  async #compare() {
    const loc = await this.#access.location();
    const file = await this.#access.state.readFile();
    const prefix = `${loc.at.workspace.id}/${loc.at.projectId}/${loc.at.environment}/`;
    const minVersions: Record<string, number> = {};
    for (const [k, v] of Object.entries(file.versions)) {
      if (k.startsWith(prefix)) minVersions[k.slice(prefix.length)] = v;
    }
    const remote = new Map((await loc.client.pull(loc.session, loc.at, minVersions)).map((s) => [s.name, s]));
    const local = new Map<string, Buffer>();
    for (const name of await this.#project.names()) {
      const v = await this.#project.get(name);
      if (v !== undefined) local.set(name, v.bytes());
    }
    return { ...loc, remote, local };
  }

  async #saveVersions(versions: Record<string, number>): Promise<void> {
    await this.#access.state.update((trust, file) => ({
      trust,
      file: { versions: { ...file.versions, ...versions }, lastSync: new Date().toISOString() },
    }));
  }

  /** Local-only, remote-only and changed secrets, by name. */
  async diff(): Promise<TeamSyncDiff> {
    return this.#access.audited(async () => {
      const { remote, local, session } = await this.#compare();
      await this.#access.saveSession(session);
      const names = [...new Set([...remote.keys(), ...local.keys()])].sort();
      const out: TeamSyncDiff = { localOnly: [], remoteOnly: [], changed: [], same: [] };
      for (const n of names) {
        const l = local.get(n);
        const r = remote.get(n);
        if (r === undefined) out.localOnly.push(n);
        else if (l === undefined) out.remoteOnly.push(n);
        else (constantTimeEqual(l, r.value) ? out.same : out.changed).push(n);
      }
      return out;
    });
  }

  /**
   * Pushes local secrets that are new or changed, each as the version after the one this client last saw, in one
   * request applied all or nothing. A secret someone else changed meanwhile is a conflict: then nothing is pushed,
   * and the conflicts are reported by name. Only ever under a key an admin granted us.
   */
  async push(): Promise<{ pushed: string[]; conflicts: string[] }> {
    return this.#access.audited(async () => {
      const { remote, local, session, client, at } = await this.#compare();
      const file = await this.#access.state.readFile();
      const versions: Record<string, number> = {};
      const items: { name: string; value: Buffer; baseVersion: number }[] = [];
      const conflicts: string[] = [];
      for (const [name, value] of local) {
        const r = remote.get(name);
        if (r !== undefined && constantTimeEqual(r.value, value)) {
          versions[versionKey(at, name)] = r.version;
          continue;
        }
        const seen = file.versions[versionKey(at, name)] ?? 0;
        if (r !== undefined && r.version !== seen) conflicts.push(name);
        else items.push({ name, value, baseVersion: r?.version ?? 0 });
      }
      let pushed: string[] = [];
      if (conflicts.length === 0 && items.length > 0) {
        const result = await client.push(session, at, items);
        if ('conflicts' in result) conflicts.push(...result.conflicts.map((c) => c.name));
        else {
          pushed = result.pushed.map((p) => p.name);
          for (const p of result.pushed) versions[versionKey(at, p.name)] = p.version;
        }
      }
      await this.#access.saveSession(session);
      await this.#saveVersions(versions);
      return { pushed, conflicts };
    });
  }

  /** Writes the remote secrets into the local store, and accepts a newer team policy (audited when refused). */
  async pull(): Promise<{ pulled: string[] }> {
    return this.#access.audited(async () => {
      const { remote, local, session, at, client, opened, trust } = await this.#compare();
      const versions: Record<string, number> = {};
      const pulled: string[] = [];
      for (const [name, r] of remote) {
        const mine = local.get(name);
        if (mine === undefined || !constantTimeEqual(mine, r.value)) {
          await this.#project.set(name, r.value);
          pulled.push(name);
        }
        versions[versionKey(at, name)] = r.version;
      }
      await this.#access.saveSession(session);
      const newer = await acceptPolicy(client, session, opened, storedPolicy(trust));
      if (newer !== undefined) await this.#access.state.remember(opened, { policy: newer });
      await this.#saveVersions(versions);
      return { pulled };
    });
  }
}
