import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'audit',
    include: ['src/**/*.test.ts'],
    // Child-process tests import dist/; this builds it when src is newer.
    globalSetup: ['src/test/build-dist.ts'],
    // Several node processes writing at once take a few seconds on a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
