import type { AuditEvent, AuditEventInput, AuditLog } from '@agentsecrets/audit';
import { type AgentSecretsError, toAgentSecretsError } from '@agentsecrets/errors';
import type { Transport } from './credential-client.js';

/** An audit event for a use of secrets that is not an HTTP call (release, reveal, a refusal), by key name only. */
export function useEvent(
  transport: Transport,
  keys: readonly string[],
  status: AuditEvent['status'],
  reason: string | null,
): AuditEventInput {
  return {
    transport,
    agent_id: null,
    method: null,
    target: null,
    secret_keys: [...keys],
    styles: [],
    status,
    reason,
    http_status: null,
    redacted: false,
    duration_ms: 0,
  };
}

/**
 * The core's side of the audit log: appends that {@link close} waits for, and one listener told of every write that
 * failed, including those no caller waits for (an event written after its answer went out, the flush at close).
 */
export class AuditTrail {
  readonly #log: AuditLog;
  readonly #inflight = new Set<Promise<void>>();
  #listener: ((error: AgentSecretsError) => void) | undefined;

  constructor(log: AuditLog) {
    this.#log = log;
  }

  /** Sets the one listener for failed writes (a long-running process logs them); a new one replaces it. */
  onError(listener: (error: AgentSecretsError) => void): void {
    this.#listener = listener;
  }

  /** Appends an event (batched with concurrent ones); a failed write is reported as well as rejected. */
  record(input: AuditEventInput): Promise<void> {
    const write = this.#log.append(input).then(() => undefined);
    this.#inflight.add(write);
    const settle = () => this.#inflight.delete(write);
    write.then(settle, (e: unknown) => {
      settle();
      this.#listener?.(toAgentSecretsError(e));
    });
    return write;
  }

  /** Fail closed: rejects (AUDIT_IO) when an event appended now could not be written (see `AuditLog.ready`). */
  ready(probe: AuditEventInput): Promise<void> {
    return this.#log.ready(probe);
  }

  /** {@link ready} without waiting: true when the log can take the event now, false when ready() must be awaited. */
  readyNow(probe: AuditEventInput): boolean {
    return this.#log.readyNow(probe);
  }

  /** Waits for pending writes, then writes what is owed; a failure goes to the listener, not to the caller. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
    await this.#log.close().catch((e: unknown) => this.#listener?.(toAgentSecretsError(e)));
  }
}
