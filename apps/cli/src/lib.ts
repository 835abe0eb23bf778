/**
 * The CLI's heavy dependencies, each loaded when a command that needs it runs — never at startup, so `--version`,
 * `--help` and usage errors stay as fast as node itself. The core alone pulls in argon2, libsodium, the keychain,
 * undici and zod; the MCP server the MCP SDK.
 *
 * This is the only module that imports these packages' values: command modules import their types (erased at build
 * time) and call these loaders inside their actions. A bundler turns each `import()` into a chunk of its own.
 */

/** `@agentsecrets/core`: the credential-resolution core, the audit log reader and the proxy state. */
export const loadCore = () => import('@agentsecrets/core');

/** `@agentsecrets/proxy`: the HTTP proxy, run in this process by `proxy start` (and by `run` when none runs). */
export const loadProxy = () => import('@agentsecrets/proxy');

/**
 * `@agentsecrets/proxy/client`: the client of a running proxy, and the way to it (`openCredentialClient`). Light: a
 * command that goes through the proxy loads neither the core, undici nor zod; the core only when no proxy runs.
 */
export const loadProxyClient = () => import('@agentsecrets/proxy/client');

/** `@agentsecrets/mcp`: the MCP stdio server, run by `mcp serve`. */
export const loadMcp = () => import('@agentsecrets/mcp');

/** The planner and writer of `mcp install` (JSONC and TOML parsers). */
export const loadMcpInstall = () => import('./mcp-install/index.js');

/** `service install|uninstall|status`: unit and agent files (the plist builder) and the service managers. */
export const loadService = () => import('./service/index.js');

/** The dotenv reader of `secrets import` (the `dotenv` package). */
export const loadDotenv = () => import('./dotenv.js');

/** `@agentsecrets/sandbox`: the bubblewrap sandbox of `run`. */
export const loadSandbox = () => import('@agentsecrets/sandbox');

/** `@agentsecrets/local-ca`: the trust bundle of `run`. */
export const loadLocalCa = () => import('@agentsecrets/local-ca');
