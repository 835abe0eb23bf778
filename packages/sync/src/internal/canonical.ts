import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: the exact bytes that are signed and hashed. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Hex SHA-256 of a labelled canonical statement. */
export function statementHash(label: string, value: unknown): string {
  return createHash('sha256')
    .update(`${label}\n${canonical(value)}`)
    .digest('hex');
}
