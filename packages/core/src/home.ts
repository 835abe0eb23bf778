import { mkdir } from 'node:fs/promises';
import type { HomePaths } from '@agentsecrets/fs';

// The home's layout is defined in @agentsecrets/fs (clients of the proxy need it without the core); the core's
// public surface keeps exporting it.
export { type HomePaths, resolveHome } from '@agentsecrets/fs';

/** Creates the home directory (0700) if it is missing. */
export async function ensureHome(paths: HomePaths): Promise<void> {
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
}
