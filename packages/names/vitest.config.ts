import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'names', include: ['src/**/*.test.ts'] },
});
