import { rebuildIfStale } from '@agentsecrets/testkit';

/** Vitest global setup: the process-level tests (concurrent writers, the canary, the no-keychain error) import the built package. */
export default function setup(): void {
  rebuildIfStale(new URL('../..', import.meta.url));
}
