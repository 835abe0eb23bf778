import { type AuditEventInput, validateInput } from '../schema.js';

/** Whether two plain values (objects, arrays, primitives) hold the same data, with the same fields. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    if (!Object.hasOwn(b, k) || !same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
      return false;
  }
  return true;
}

/** A copy of plain data (objects, arrays, primitives), each field read once; anything else is kept as it is. */
function plainCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(plainCopy);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = plainCopy((value as Record<string, unknown>)[k]);
  return out;
}

/**
 * Validates probes (`AuditLog.ready`); a copy of the last one that passed is kept (names and facts only, like the
 * event it stands for), so the calls of one agent with the same keys — the same probe each time — pay for it once. A
 * field that is present but undefined counts: such a probe is not taken for one that lacks the field.
 */
export class ProbeCheck {
  #ok: unknown;

  check(probe: AuditEventInput): void {
    // One copy is read, compared and validated: an object whose getters answer differently on each read cannot pass
    // with one set of values and be remembered with another.
    const copy = plainCopy(probe) as AuditEventInput;
    if (this.#ok !== undefined && same(copy, this.#ok)) return;
    validateInput(copy);
    this.#ok = copy;
  }
}
