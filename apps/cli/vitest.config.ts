import { defineProject } from 'vitest/config';

// Process-level tests run the built CLI (dist/bin.js): the test command builds first.
export default defineProject({
  test: {
    name: 'cli',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
