import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'keychain', include: ['src/**/*.test.ts'] },
});
