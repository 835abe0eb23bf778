// Error codes of their own where one code used to mean several things, with the exit codes of SPEC.md §3.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshMachine, run } from './helpers.js';

let machine: Awaited<ReturnType<typeof freshMachine>>;

beforeAll(async () => {
  machine = await freshMachine();
});

afterAll(async () => {
  await rm(machine.root, { recursive: true, force: true });
});

describe('error codes', () => {
  it('says PROXY_NOT_RUNNING (exit 4, not found) when a proxy command finds no proxy', async () => {
    for (const args of [
      ['proxy', 'token'],
      ['proxy', 'stop'],
    ]) {
      const res = await run(args, { env: machine.env, cwd: machine.project });
      expect(res.code).toBe(4);
      expect(res.stderr).toContain('PROXY_NOT_RUNNING');
      expect(res.stderr).toContain('agentsecrets proxy start');
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
