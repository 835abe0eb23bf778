// `mcp install` ends with the next step for the setup this home has, so a client showing the server as "Connected"
// is not the end of it: init when nothing is set up, the service and unlock with the file vault, nothing with the OS
// keychain; and Gemini CLI's folder trust when Gemini was registered.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshMachine, run } from './helpers.js';

let machine: Awaited<ReturnType<typeof freshMachine>>;
const opts = (extra: NodeJS.ProcessEnv = {}) => ({ env: { ...machine.env, ...extra }, cwd: machine.project });

beforeAll(async () => {
  machine = await freshMachine();
  await mkdir(join(machine.env.HOME as string, '.gemini'), { recursive: true });
  await mkdir(join(machine.env.HOME as string, '.cursor'), { recursive: true });
});
afterAll(async () => {
  await rm(machine.root, { recursive: true, force: true });
});

describe('the last lines of mcp install', () => {
  it('not set up yet: init', async () => {
    const r = await run(['mcp', 'install', '--client', 'cursor'], opts());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^next: `agentsecrets init`/);
    expect(r.stdout).not.toContain('Gemini');
  });

  it('the file vault: service install, then unlock; Gemini CLI: trust the folder', async () => {
    expect((await run(['init', '--yes'], opts())).code).toBe(0);
    const r = await run(['mcp', 'install', '--client', 'gemini'], opts());
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-2)).toBe(
      'next: `agentsecrets service install` then `agentsecrets unlock` (the file vault: until then every tool answers with what to type)',
    );
    expect(lines.at(-1)).toMatch(
      /^Gemini CLI: with folder trust on, MCP servers are off in folders not trusted yet/,
    );
  });

  it('the OS keychain: nothing (also when the entry was registered already)', async () => {
    const r = await run(['mcp', 'install', '--client', 'cursor'], opts({ AGENTSECRETS_KEYCHAIN: 'os' }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('already registered');
    expect(r.stdout.trim().split('\n').at(-1)).toBe(
      'next: nothing — restart the client; the server opens the OS keychain itself',
    );
  });
});
