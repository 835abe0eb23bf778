import { defineConfig } from 'tsup';
import { baseTsupConfig } from '../../tsup.config.base';

// The published CLI bundles the workspace packages (they are not published on their own yet) and leaves the
// third-party ones, listed in its dependencies, to npm. The MCP SDK and zod are devDependencies, so tsup bundles them
// too: Node 20 loads their hundreds of ESM files several times slower than one chunk, which `mcp serve` waits for
// before it can answer `initialize`.
export default defineConfig({
  ...baseTsupConfig,
  entry: ['src/index.ts', 'src/bin.ts'],
  noExternal: [/^@agentsecrets\//],
  splitting: true,
  dts: { resolve: false },
});
