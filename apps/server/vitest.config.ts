import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'server',
    include: ['src/**/*.test.ts'],
    // The README example imports dist/ (this package's and the sync client's); this builds them when src is newer.
    globalSetup: ['src/test/build-dist.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
