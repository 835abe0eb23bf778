import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeExample, runReadmeExample } from '@agentsecrets/testkit';
import { describe, expect, it } from 'vitest';

const here = dirname(dirname(fileURLToPath(import.meta.url)));

describe('the README example', () => {
  it('runs a server and a client from the built packages and prints what it says', () => {
    const { expected } = readmeExample(here);
    expect(expected).toEqual(['STRIPE_KEY 1 sk_test_123', 'INVALID_CREDENTIALS']);
    const run = runReadmeExample(here);
    expect(run.stderr).toBe('');
    expect(run).toMatchObject({ status: 0, lines: expected });
  });
});
