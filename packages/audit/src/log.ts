import { appendFile, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AgentSecretsError } from '@agentsecrets/errors';
import { withFileLock } from '@agentsecrets/keychain';
import { lastLine, lineHash, rotatedPath } from './internal/files.js';
import { type AuditEvent, type AuditEventInput, validateInput } from './schema.js';

/** The `prev` of the first line ever written. */
export const GENESIS_HASH = '0'.repeat(64);

/** Options of {@link AuditLog}. */
export interface AuditLogOptions {
  readonly path: string;
  /** Size at which the live file is rotated. Default 10 MiB. */
  readonly maxBytes?: number;
  /** Rotated files kept (`audit.jsonl.1` … `.N`). Default 5. */
  readonly maxFiles?: number;
}

/** An event's id: derived from its own content, so an edited line no longer matches its id. */
export function eventId(withoutId: Omit<AuditEvent, 'id'> | Record<string, unknown>): string {
  const sorted = Object.keys(withoutId)
    .filter((k) => k !== 'id')
    .sort()
    .map((k) => [k, (withoutId as Record<string, unknown>)[k]]);
  return `ev_${lineHash(JSON.stringify(sorted)).slice(0, 32)}`;
}

/** Serializes an event with a stable field order: ts, id, prev, then the rest as in the schema. */
export function serialize(event: AuditEvent): string {
  const { ts, id, prev, ...rest } = event;
  return JSON.stringify({ ts, id, prev, ...rest });
}

function ioError(action: string, path: string, cause: unknown): AgentSecretsError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new AgentSecretsError(
    'AUDIT_IO',
    `cannot ${action} the audit log ${path}${code ? ` (${code})` : ''}`,
    {
      hint: 'check the permissions of the AgentSecrets home and free disk space',
      cause,
    },
  );
}

/**
 * The append-only, hash-chained audit log. Each line holds the hash of the line before it (`prev`) and an id derived
 * from its own content, so an edited, deleted or reordered line is found by {@link verifyAuditLog}. Several
 * processes (proxy, CLI, MCP server) append safely: each append holds an exclusive lock file while it reads the last
 * line's hash, rotates if the file is full, and appends one whole line.
 *
 * @example
 * ```ts
 * const log = new AuditLog({ path: `${home}/audit.jsonl` });
 * await log.append({ transport: 'cli', agent_id: null, method: 'GET', target: 'https://api.stripe.com/v1/balance',
 *   secret_keys: ['STRIPE_KEY'], styles: ['bearer'], status: 'OK', reason: null, http_status: 200,
 *   redacted: false, duration_ms: 182.4 });
 * ```
 */
export class AuditLog {
  readonly path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;

  constructor(options: AuditLogOptions) {
    this.path = options.path;
    this.#maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.#maxFiles = Math.max(1, options.maxFiles ?? 5);
  }

  /**
   * Validates and appends one event; resolves with it as written. Events appended while a write is in progress are
   * written together by the next one, under one lock and in one `write`, in the order they were appended — so a
   * busy proxy pays one lock per batch, not per call, and the queue cannot grow without bound.
   */
  append(input: AuditEventInput): Promise<AuditEvent> {
    let fields: AuditEventInput;
    try {
      fields = validateInput(input);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<AuditEvent>((resolve, reject) => {
      this.#pending.push({ fields, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  readonly #pending: {
    fields: AuditEventInput;
    resolve: (e: AuditEvent) => void;
    reject: (e: unknown) => void;
  }[] = [];
  #writing = false;

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, 1000);
      try {
        const events = await this.#write(batch.map((b) => b.fields));
        for (const [i, b] of batch.entries()) b.resolve(events[i]!);
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    this.#writing = false;
  }

  async #write(batch: readonly AuditEventInput[]): Promise<AuditEvent[]> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 }).catch((e: unknown) => {
      throw ioError('create the directory of', this.path, e);
    });
    return withFileLock(`${this.path}.lock`, { timeoutMs: 10_000, staleMs: 10_000 }, async () => {
      try {
        let prev = await this.#prevHash();
        const events: AuditEvent[] = [];
        const lines: string[] = [];
        for (const fields of batch) {
          const partial = { ts: new Date().toISOString(), prev, ...fields };
          const event = { ...partial, id: eventId(partial) } as AuditEvent;
          const line = serialize(event);
          events.push(event);
          lines.push(line);
          prev = lineHash(line);
        }
        await appendFile(this.path, `${lines.join('\n')}\n`, { mode: 0o600 });
        return events;
      } catch (e) {
        if (e instanceof AgentSecretsError) throw e;
        throw ioError('append to', this.path, e);
      }
    });
  }

  /** The hash of the newest line, rotating the live file first when it is full. Runs under the lock. */
  async #prevHash(): Promise<string> {
    const size = await stat(this.path).then(
      (s) => s.size,
      () => 0,
    );
    if (size >= this.#maxBytes) await this.#rotate();
    const last = (await lastLine(this.path)) ?? (await lastLine(rotatedPath(this.path, 1)));
    return last === undefined ? GENESIS_HASH : lineHash(last);
  }

  async #rotate(): Promise<void> {
    await unlink(rotatedPath(this.path, this.#maxFiles)).catch(() => undefined);
    for (let i = this.#maxFiles - 1; i >= 1; i -= 1) {
      await rename(rotatedPath(this.path, i), rotatedPath(this.path, i + 1)).catch(() => undefined);
    }
    await rename(this.path, rotatedPath(this.path, 1));
  }
}
