import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'local-ca', include: ['src/**/*.test.ts'] },
});
