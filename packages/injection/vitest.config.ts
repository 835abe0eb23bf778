import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'injection', include: ['src/**/*.test.ts'] },
});
