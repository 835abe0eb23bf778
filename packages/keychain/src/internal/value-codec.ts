/**
 * Keychains store a password as a NUL-terminated string, and secret values are bytes. A value that is well-formed
 * UTF-8 with no NUL is stored as that text, so it reads naturally in Keychain Access or Seahorse; anything else (and
 * any text that happens to begin with the marker) is stored as the marker followed by base64. Decoding is therefore
 * unambiguous and every byte string round-trips.
 */
export const BINARY_MARKER = 'agentsecrets:base64:';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The keychain string for `bytes`. */
export function encodeForKeychain(bytes: Uint8Array): string {
  let text: string | undefined;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    text = undefined;
  }
  if (text !== undefined && text.length > 0 && !text.includes('\0') && !text.startsWith(BINARY_MARKER)) {
    return text;
  }
  return BINARY_MARKER + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The bytes a keychain string stands for, in a buffer of their own (not the shared pool) that the caller wipes. */
export function decodeFromKeychain(stored: string): Buffer {
  const decoded = stored.startsWith(BINARY_MARKER)
    ? Buffer.from(stored.slice(BINARY_MARKER.length), 'base64')
    : Buffer.from(stored, 'utf8');
  const own = Buffer.alloc(decoded.byteLength);
  own.set(decoded);
  decoded.fill(0);
  return own;
}
