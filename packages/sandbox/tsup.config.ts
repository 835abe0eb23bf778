import { defineConfig } from 'tsup';
import { baseTsupConfig } from '../../tsup.config.base';

export default defineConfig(baseTsupConfig);
