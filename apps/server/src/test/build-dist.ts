import { rebuildIfStale } from '@agentsecrets/testkit';

/** Vitest global setup: the README example runs against the built server and sync client. */
export default function setup(): void {
  rebuildIfStale(new URL('../../../../packages/sync', import.meta.url));
  rebuildIfStale(new URL('../..', import.meta.url));
}
