import { readBack } from './escapes.js';

/**
 * Where `canary` can be read back from `haystack`: the chains of decodings (JSON, URL/form, HTML, base64 at any
 * alignment and line-wrapped, hex; up to three deep, letters in either case) after which it appears, e.g.
 * `['raw']` or `['json>b64']`. Empty when nothing leaked. Tests search every output with it.
 */
export function findLeaks(haystack: string | Uint8Array, canary: string): string[] {
  return readBack(haystack, canary);
}
