import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'sync',
    include: ['src/**/*.test.ts'],
    // The README example imports dist/; this builds it when src is newer.
    globalSetup: ['src/test/build-dist.ts'],
  },
});
