import type { AuditEventInput } from '../schema.js';

/** How repeated denials are summarised; see {@link DenialSummaries}. */
export interface DenialOptions {
  /** Length of one window, in ms. Default 10 s. */
  readonly windowMs?: number;
  /** Denials written one by one per kind of denial and window; the rest are counted. Default 20. */
  readonly perKind?: number;
  /** Denials written one by one per window in all; past it every denial is counted under its reason. Default 200. */
  readonly perWindow?: number;
}

interface Tally {
  /** The event the summary repeats (its target cut to the origin). */
  readonly template: AuditEventInput;
  count: number;
  durationMs: number;
}

/** `scheme://host[:port]` of a target: what a summary keeps of many targets. */
function originOf(target: string | null): string | null {
  if (target === null) return null;
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/]+/.exec(target);
  return match?.[0] ?? null;
}

function kindOf(e: AuditEventInput): string {
  return JSON.stringify([
    e.transport,
    e.agent_id,
    e.method,
    originOf(e.target),
    e.secret_keys,
    e.styles,
    e.reason,
  ]);
}

/**
 * Keeps a flood of denials from flooding the log (and rotating the older files away): in each window, the first
 * `perKind` denials of one kind (transport, agent, method, origin, keys, styles, reason) and the first `perWindow`
 * in all are written one by one; the rest are counted, and at the end of the window one summary event per kind
 * (`repeated: N`, target cut to the origin) records them. Past `perWindow`, denials are counted under their transport
 * and reason only, so varying the host or the agent id does not buy a line each. Nothing but BLOCKED events (nothing
 * was sent) is ever summarised.
 */
export class DenialSummaries {
  readonly #windowMs: number;
  readonly #perKind: number;
  readonly #perWindow: number;
  readonly #emit: (summary: AuditEventInput) => void;
  #windowStart = 0;
  #written = 0;
  readonly #perKindWritten = new Map<string, number>();
  readonly #tallies = new Map<string, Tally>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DenialOptions, emit: (summary: AuditEventInput) => void) {
    this.#windowMs = options.windowMs ?? 10_000;
    this.#perKind = options.perKind ?? 20;
    this.#perWindow = options.perWindow ?? 200;
    this.#emit = emit;
  }

  /** True when the event is to be written now; false when it was counted into a summary. */
  admit(event: AuditEventInput): boolean {
    if (event.status !== 'BLOCKED') return true;
    const now = Date.now();
    if (now - this.#windowStart >= this.#windowMs) this.flush(now);
    const kind = kindOf(event);
    const ofKind = this.#perKindWritten.get(kind) ?? 0;
    if (ofKind < this.#perKind && this.#written < this.#perWindow) {
      this.#perKindWritten.set(kind, ofKind + 1);
      this.#written += 1;
      return true;
    }
    const coarse = this.#written >= this.#perWindow && ofKind < this.#perKind;
    const key = coarse ? JSON.stringify([event.transport, event.reason]) : kind;
    const tally = this.#tallies.get(key);
    if (tally === undefined) {
      const template: AuditEventInput = coarse
        ? { ...event, agent_id: null, method: null, target: null, secret_keys: [], styles: [] }
        : { ...event, target: originOf(event.target) };
      this.#tallies.set(key, { template, count: 1, durationMs: event.duration_ms });
    } else {
      tally.count += 1;
      tally.durationMs = Math.max(tally.durationMs, event.duration_ms);
    }
    this.#timer ??= setTimeout(() => this.flush(), this.#windowStart + this.#windowMs - now).unref();
    return false;
  }

  /** Writes the summaries of the window so far and starts a new window. */
  flush(now = Date.now()): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const { template, count, durationMs } of this.#tallies.values()) {
      this.#emit({ ...template, duration_ms: durationMs, repeated: count });
    }
    this.#tallies.clear();
    this.#perKindWritten.clear();
    this.#written = 0;
    this.#windowStart = now;
  }
}
