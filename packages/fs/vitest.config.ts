import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'fs',
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
