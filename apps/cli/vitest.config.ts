import { defineProject } from 'vitest/config';

// Process-level tests run the built CLI (dist/bin.js): the test command builds first.
export default defineProject({
  test: {
    name: 'cli',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // A team test runs dozens of CLI processes one after another: minutes on a machine loaded by other work.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
