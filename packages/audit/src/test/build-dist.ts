import { rebuildIfStale } from '@agentsecrets/testkit';

/** Vitest global setup: the process-level tests (several writers appending at once, a log followed while another process writes) import the built package. */
export default function setup(): void {
  rebuildIfStale(new URL('../..', import.meta.url));
}
