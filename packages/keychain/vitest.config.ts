import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'keychain',
    include: ['src/**/*.test.ts'],
    // Child-process tests import dist/; this builds it when src is newer.
    globalSetup: ['src/test/build-dist.ts'],
    // Argon2id and real keychain round trips take longer than vitest's 5 s default on a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
