/**
 * The core, loaded when a tool first needs it — never before the server answers `initialize`: importing it (argon2,
 * libsodium, the keychain, undici) costs more than the rest of `mcp serve`'s startup together. A bundler turns the
 * `import()` into a chunk of its own.
 */
export const loadCore = () => import('@agentsecrets/core');

/** The proxy's credential client (and, where no proxy runs, the core behind it), loaded as {@link loadCore} is. */
export const loadProxy = () => import('@agentsecrets/proxy');
