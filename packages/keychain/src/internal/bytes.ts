import { AgentSecretsError } from '@agentsecrets/errors';

/** A private copy of a value as bytes: a string becomes UTF-8. The caller zero-fills it when done. */
export function toOwnedBytes(value: Uint8Array | string): Buffer {
  if (typeof value === 'string') {
    // Buffer.from(string) may slice the shared pool; copy into a buffer of our own that can be wiped alone.
    const encoded = Buffer.from(value, 'utf8');
    const own = Buffer.alloc(encoded.byteLength);
    own.set(encoded);
    encoded.fill(0);
    return own;
  }
  if (!(value instanceof Uint8Array)) {
    throw new AgentSecretsError('INVALID_ARGUMENT', 'a secret value must be a Uint8Array or a string', {
      hint: 'pass the value as a Buffer, a Uint8Array or a string',
    });
  }
  const own = Buffer.alloc(value.byteLength);
  own.set(value);
  return own;
}
