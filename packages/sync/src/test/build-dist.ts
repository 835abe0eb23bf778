import { rebuildIfStale } from '@agentsecrets/testkit';

/** Vitest global setup: the README example runs against the built package. */
export default function setup(): void {
  rebuildIfStale(new URL('../..', import.meta.url));
}
