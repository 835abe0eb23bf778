import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeExample, runReadmeExample } from '@agentsecrets/testkit';
import { describe, expect, it } from 'vitest';

const here = dirname(dirname(fileURLToPath(import.meta.url)));

describe('the README example', () => {
  it('runs against the built package and prints what it says', () => {
    const { expected } = readmeExample(here);
    expect(expected).toEqual(['32', 'sk_test_123', 'DECRYPT_FAILED']);
    const run = runReadmeExample(here);
    expect(run.stderr).toBe('');
    expect(run).toMatchObject({ status: 0, lines: expected });
  });
});
