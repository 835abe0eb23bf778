import { type AuditEventInput, validateInput } from '../schema.js';

/** Stands for an undefined field in a probe's key: no field that validates can hold a NUL. */
const UNDEFINED_MARK = '\u0000undefined';

/**
 * Validates probes (`AuditLog.ready`); the last one that passed is remembered as JSON (names and facts only, like the
 * event it stands for), so the calls of one agent with the same keys — the same probe each time — pay for it once.
 */
export class ProbeCheck {
  #ok: string | undefined;

  check(probe: AuditEventInput): void {
    let key: string | undefined;
    try {
      // An undefined field is kept in the key (JSON would drop it, and the schema refuses unknown fields even so).
      key = JSON.stringify(probe, (_, v: unknown) => (v === undefined ? UNDEFINED_MARK : v));
    } catch {
      key = undefined;
    }
    if (key !== undefined && key === this.#ok) return;
    validateInput(probe);
    this.#ok = key;
  }
}
