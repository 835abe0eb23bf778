import { join } from 'node:path';
import { readJsonFile, withFileLock, writeJsonFile } from '@agentsecrets/fs';
import { type OpenedWorkspace, rosterAdmins, type SignedPolicy } from '@agentsecrets/sync';
import { z } from 'zod';
import type { TeamTrust, VaultRecord, WorkspaceTrust } from './anchor.js';

// sync.json keeps only what is not about trust: the versions seen and the last sync. It is also the signal that the
// team trust record changed (a running proxy looks at its stamp). Fields of older versions are ignored.
const FileSchema = z.object({
  versions: z.record(z.string(), z.number().int()).catch({}).default({}),
  lastSync: z.string().nullable().catch(null).default(null),
});

/** What `status` and the workspace commands show: who is logged in where, and the versions last seen. */
export interface TeamSyncState {
  readonly server: string;
  readonly email: string;
  readonly userId: string;
  readonly workspaceId: string | null;
  readonly versions: Record<string, number>;
  readonly lastSync: string | null;
}

/**
 * Team sync's local state: the trust record in the vault (what decides which policy applies) and sync.json beside it
 * (versions seen, last sync). Every change is made under the sync lock, vault first, then sync.json, whose new stamp
 * tells running engines to look again.
 */
export class TeamRecords {
  readonly #trust: VaultRecord<TeamTrust> & { delete(): Promise<void> };
  /** `$AGENTSECRETS_HOME/sync.json`. */
  readonly file: string;

  constructor(trust: VaultRecord<TeamTrust> & { delete(): Promise<void> }, home: string) {
    this.#trust = trust;
    this.file = join(home, 'sync.json');
  }

  /** The trust record (undefined when the owner has not set sync up here). */
  trust(): Promise<TeamTrust | undefined> {
    return this.#trust.get();
  }

  async readFile(): Promise<z.infer<typeof FileSchema>> {
    return (
      (await readJsonFile(this.file, FileSchema).catch(() => undefined)) ?? { versions: {}, lastSync: null }
    );
  }

  /** Who is logged in where (from the vault) and the versions last seen; undefined when sync is not set up. */
  async state(): Promise<TeamSyncState | undefined> {
    const trust = await this.#trust.get();
    if (trust === undefined) return undefined;
    const file = await this.readFile();
    return {
      server: trust.server,
      email: trust.email,
      userId: trust.userId,
      workspaceId: trust.current,
      versions: file.versions,
      lastSync: file.lastSync,
    };
  }

  /**
   * Changes the trust record and sync.json under the sync lock: read, change, write the vault, then sync.json (whose
   * new stamp tells running engines to look again).
   */
  async update(
    change: (
      trust: TeamTrust | undefined,
      file: z.infer<typeof FileSchema>,
    ) => {
      trust: TeamTrust | undefined;
      file?: z.infer<typeof FileSchema>;
    },
  ): Promise<TeamTrust | undefined> {
    return withFileLock(`${this.file}.lock`, { timeoutMs: 30_000 }, async () => {
      const file = await this.readFile();
      const before = await this.#trust.get();
      const next = change(before, file);
      if (JSON.stringify(next.trust) === JSON.stringify(before) && next.file === undefined) return before;
      if (next.trust === undefined) await this.#trust.delete();
      else await this.#trust.set(next.trust);
      await writeJsonFile(this.file, FileSchema, next.file ?? file);
      return next.trust;
    });
  }

  /** Pins what was verified of a workspace (never going back to an older roster version). */
  async remember(opened: OpenedWorkspace, extra: { current?: boolean; policy?: SignedPolicy } = {}) {
    const id = opened.workspace.id;
    await this.update((trust) => {
      if (trust === undefined) throw new Error('team sync is not set up');
      const before = trust.workspaces[id];
      const pin = opened.roster.pin;
      const rec: WorkspaceTrust =
        before !== undefined && before.serial > pin.serial
          ? before
          : { ...pin, admins: rosterAdmins(opened.roster.latest), policy: before?.policy ?? null };
      const policy =
        extra.policy !== undefined && extra.policy.serial > ((rec.policy as SignedPolicy | null)?.serial ?? 0)
          ? extra.policy
          : rec.policy;
      return {
        trust: {
          ...trust,
          current: extra.current ? id : trust.current,
          workspaces: { ...trust.workspaces, [id]: { ...rec, policy } },
        },
      };
    });
  }
}
