import type { JsonSchema } from '@agentsecrets/fs';

/** Whether one field's value is what it must be. */
export type FieldCheck = (value: unknown) => boolean;

/**
 * A check of a plain JSON object with exactly these fields (those in `optional` may be absent), as a JsonSchema: a
 * failure names the first bad field (`[]` when the value is no object). Written by hand rather than with zod for the
 * few small records a client reads at every start (proxy.json, a run grant): zod alone takes longer to load than the
 * rest of such a run. Strict: an unknown field is refused, as zod's `.strict()` does.
 */
export function objectShape<T>(
  fields: Readonly<Record<string, FieldCheck>>,
  optional: readonly string[] = [],
): JsonSchema<T> {
  const badField = (data: unknown): string | undefined => {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return '';
    const record = data as Record<string, unknown>;
    for (const [name, ok] of Object.entries(fields)) {
      const absent = !Object.hasOwn(record, name) || record[name] === undefined;
      if (absent ? !optional.includes(name) : !ok(record[name])) return name;
    }
    return Object.keys(record).find((name) => !Object.hasOwn(fields, name));
  };
  return {
    safeParse(data) {
      const bad = badField(data);
      return bad === undefined
        ? { success: true, data: data as T }
        : { success: false, error: { issues: [{ path: bad === '' ? [] : [bad] }] } };
    },
    parse(data) {
      const parsed = this.safeParse(data);
      if (!parsed.success)
        throw new TypeError(`invalid field: ${parsed.error.issues[0]?.path.join('.') || '(top level)'}`);
      return parsed.data;
    },
  };
}

/** A string matching `pattern`. */
export const matching =
  (pattern: RegExp): FieldCheck =>
  (v) =>
    typeof v === 'string' && pattern.test(v);
/** Any string. */
export const isString: FieldCheck = (v) => typeof v === 'string';
/** An integer in [min, max]. */
export const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): FieldCheck =>
  (v) =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
