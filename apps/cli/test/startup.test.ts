// The CLI loads a command's dependencies only when that command runs. Proof by removal: a copy of the built CLI
// without any chunk that imports a heavy dependency still prints its version, every help text and its usage errors,
// byte for byte as the full build does; a command that needs the core then fails to load it.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFile } from './bundle.js';
import { BIN } from './helpers.js';

const HEAVY = [
  '@agentsecrets/',
  'argon2',
  'libsodium-wrappers',
  '@github/keytar',
  'undici',
  'zod',
  '@modelcontextprotocol/sdk',
  'jsonc-parser',
  'smol-toml',
];

/** The packages a bundle file imports, and the third-party ones bundled into it (zod and the MCP SDK are). */
async function packagesOf(dist: string, name: string): Promise<string[]> {
  const { imported, bundled } = await bundleFile(dist, name);
  return [...imported, ...bundled.filter((p) => !p.startsWith('@agentsecrets/'))];
}

function run(bin: string, args: readonly string[], cwd: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: cwd, AGENTSECRETS_HOME: join(cwd, '.as'), NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

let lean: string;
let removed: string[];
let cwd: string;

beforeAll(async () => {
  // Inside the package's node_modules, so that the copy resolves commander as the build does.
  const cache = join(dirname(BIN), '..', 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'startup-'));
  cwd = await mkdtemp(join(dir, 'cwd-'));
  removed = [];
  for (const name of await readdir(dirname(BIN))) {
    if (!name.endsWith('.js')) continue;
    if ((await packagesOf(dirname(BIN), name)).some((p) => HEAVY.some((h) => p === h || p.startsWith(h))))
      removed.push(name);
    else await copyFile(join(dirname(BIN), name), join(dir, name));
  }
  lean = join(dir, 'bin.js');
});

afterAll(async () => {
  await rm(dirname(lean), { recursive: true, force: true });
});

describe('startup', () => {
  it('the chunks that hold the heavy dependencies are not reached by --version, --help or a usage error', async () => {
    expect(removed.length).toBeGreaterThanOrEqual(3);
    const cases = [
      ['--version'],
      ['--help'],
      ['secrets', '--help'],
      ['workspace', 'allowlist', 'add', '--help'],
      ['call', '--help'],
      ['proxy', 'start', '--help'],
      ['mcp', 'install', '--help'],
      ['bogus'],
      ['call'],
      ['secrets', 'release', 'KEY', 'maybe'],
    ];
    for (const args of cases) {
      const full = await run(BIN, args, cwd);
      const withoutDeps = await run(lean, args, cwd);
      expect(withoutDeps, args.join(' ')).toEqual(full);
      expect(full.stdout + full.stderr, args.join(' ')).not.toContain('ERR_MODULE_NOT_FOUND');
    }
  });

  it('a command that needs the core loads it when it runs', async () => {
    const res = await run(lean, ['--debug', 'secrets', 'list'], cwd);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('ERR_MODULE_NOT_FOUND');
    expect((await run(BIN, ['secrets', 'list'], cwd)).stderr).toContain('NOT_SET_UP');
  });
});
