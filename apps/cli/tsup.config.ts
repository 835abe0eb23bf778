import { defineConfig } from 'tsup';
import { baseTsupConfig } from '../../tsup.config.base';

// The published CLI bundles the workspace packages (they are not published on their own yet) and leaves the
// third-party ones, listed in its dependencies, to npm.
export default defineConfig({
  ...baseTsupConfig,
  entry: ['src/index.ts', 'src/bin.ts'],
  noExternal: [/^@agentsecrets\//],
  splitting: true,
  dts: { resolve: false },
});
