import { defineConfig } from 'tsup';
import { baseTsupConfig } from '../../tsup.config.base';

// `./client` is an entry of its own (the client end, light to load); split so both entries share one ProxyClient.
export default defineConfig({
  ...baseTsupConfig,
  entry: { index: 'src/index.ts', client: 'src/client-entry.ts' },
  splitting: true,
});
