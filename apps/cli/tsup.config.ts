import { defineConfig } from 'tsup';
import { baseTsupConfig } from '../../tsup.config.base';

// The published CLI bundles the workspace packages (they are not published on their own yet) and leaves the
// third-party ones, listed in its dependencies, to npm — except what startup waits for, kept as devDependencies so
// tsup bundles them: commander, which every run loads (one ESM chunk instead of seven CommonJS files through Node's
// ESM loader, half its load time on Node 20), and the MCP SDK and zod, whose hundreds of ESM files Node 20 loads
// several times slower than one chunk, which `mcp serve` waits for before it can answer `initialize`. Their
// `require()`s of node builtins need a `require` in ESM: the banner defines one in each chunk.
export default defineConfig({
  ...baseTsupConfig,
  entry: ['src/index.ts', 'src/bin.ts'],
  noExternal: [/^@agentsecrets\//, 'commander'],
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  splitting: true,
  dts: { resolve: false },
});
