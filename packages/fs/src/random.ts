/**
 * `bytes` random bytes as hex (unique names for temp files, lock nonces), from the global Web Crypto object: it loads
 * node:crypto only when first used, so a process that reads files but writes none (a CLI run through the proxy)
 * never pays the ~10 ms node:crypto takes to load.
 */
export function randomHex(bytes: number): string {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}
