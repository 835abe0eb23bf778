import { defineConfig } from 'tsup';
import { baseTsupConfig } from '../../tsup.config.base';

// `./spec` is an entry of its own: the injection specs alone, for a client that formats them without loading the
// engine (undici, zlib); split so both entries share one copy of the spec module.
export default defineConfig({
  ...baseTsupConfig,
  entry: { index: 'src/index.ts', spec: 'src/spec/index.ts' },
  splitting: true,
});
