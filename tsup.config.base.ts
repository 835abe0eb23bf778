import type { Options } from 'tsup';

/** The one build setup every package and app shares: ESM, Node 20, types, source maps. */
export const baseTsupConfig: Options = {
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: false,
  treeshake: true,
};
