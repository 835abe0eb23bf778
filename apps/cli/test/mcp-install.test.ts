import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshMachine, run } from './helpers.js';

let machine: Awaited<ReturnType<typeof freshMachine>>;

beforeAll(async () => {
  machine = await freshMachine();
});
afterAll(async () => {
  await rm(machine.root, { recursive: true, force: true });
});

describe('mcp install on a machine', () => {
  it('registers the installed clients, skips a broken config without touching it, and is idempotent', async () => {
    const home = machine.env.HOME!;
    await mkdir(join(home, '.cursor'), { recursive: true });
    await writeFile(join(home, '.cursor', 'mcp.json'), '{ "mcpServers": { broken');
    await mkdir(join(home, '.gemini'), { recursive: true });
    await writeFile(join(home, '.gemini', 'settings.json'), '{\n  // mine\n  "theme": "GitHub"\n}\n');
    const opts = { env: machine.env, cwd: machine.project };
    const dry = await run(['mcp', 'install', '--dry-run'], opts);
    expect(dry.stdout).toContain('gemini: would change');
    expect(await readFile(join(home, '.gemini', 'settings.json'), 'utf8')).not.toContain('agentsecrets');
    const first = await run(['mcp', 'install'], opts);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('cursor: skipped');
    expect(await readFile(join(home, '.cursor', 'mcp.json'), 'utf8')).toBe('{ "mcpServers": { broken');
    const gemini = await readFile(join(home, '.gemini', 'settings.json'), 'utf8');
    expect(gemini).toContain('// mine');
    expect(gemini).toContain('"agentsecrets"');
    expect(gemini).toContain('"mcp",');
    const again = await run(['mcp', 'install', '--client', 'gemini'], opts);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('gemini: already registered');
  });

  it("--dry-run does not print other servers' credentials from the context lines", async () => {
    const token = 'ghp_DRYRUN_CANARY_9f8e7d6c5b4a39281706';
    const dir = join(machine.env.HOME!, '.codeium', 'windsurf');
    await mkdir(dir, { recursive: true });
    const config = {
      mcpServers: {
        github: {
          command: 'npx',
          args: ['-y', '@modelcontextprotocol/server-github'],
          env: { GITHUB_PERSONAL_ACCESS_TOKEN: token },
        },
      },
    };
    await writeFile(join(dir, 'mcp_config.json'), `${JSON.stringify(config, null, 2)}\n`);
    const dry = await run(['mcp', 'install', '--client', 'windsurf', '--dry-run'], {
      env: machine.env,
      cwd: machine.project,
    });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('GITHUB_PERSONAL_ACCESS_TOKEN');
    expect(dry.stdout).not.toContain(token);
    expect(dry.stdout).not.toContain(token.slice(4, 24));
  });
});

describe('mcp install with a custom home and a disabled entry (issue 13)', () => {
  it('writes AGENTSECRETS_HOME into the entry, says a disabled entry stays disabled, and ends with the next step', async () => {
    const home = machine.env.HOME!;
    const custom = join(machine.root, 'elsewhere', 'as-home');
    const env = { ...machine.env, AGENTSECRETS_HOME: custom };
    const dir = join(home, '.codeium', 'windsurf');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'mcp_config.json'),
      '{\n  "mcpServers": {\n    "agentsecrets": { "command": "node", "args": [], "disabled": true }\n  }\n}\n',
    );
    const res = await run(['mcp', 'install', '--client', 'windsurf'], { env, cwd: machine.project });
    expect(res.code, res.stderr).toBe(0);
    const entry = JSON.parse(await readFile(join(dir, 'mcp_config.json'), 'utf8')).mcpServers.agentsecrets;
    expect(entry.env).toEqual({ AGENTSECRETS_HOME: custom });
    expect(entry.disabled).toBe(true);
    expect(res.stdout).not.toMatch(/^registered/m);
    expect(res.stdout).toContain('still disabled');
    expect(res.stdout).toContain('enable agentsecrets in windsurf');
    expect(res.stdout.trim().split('\n').at(-1)).toMatch(/^next: /);
    const again = await run(['mcp', 'install', '--client', 'windsurf'], { env, cwd: machine.project });
    expect(again.stdout).toContain('already registered');
    expect(again.stdout).toContain('disabled there');
  });
});
