// `mcp serve` answers `initialize` and `tools/list` without loading the core (argon2, libsodium, the keychain,
// undici): the core is loaded after the client is answered, or at the first tool call, and through a running proxy
// not at all. Proof by removal, as in startup.test.ts: a copy of the built CLI without the chunks that hold the core
// or import its native and network dependencies still answers both, byte for byte as the full build does, and every
// tool through the proxy; without a proxy a tool call then fails to load the core.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFile } from './bundle.js';
import { BIN } from './helpers.js';
import { preparedMachine, startProxyProcess } from './proxy-process.js';

const CORE = ['@agentsecrets/core', 'argon2', 'libsodium-wrappers', '@github/keytar', 'undici'];

const request = (id: number, method: string, params: Record<string, unknown> = {}) =>
  `${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`;
const INITIALIZE = request(1, 'initialize', {
  protocolVersion: '2025-06-18',
  capabilities: {},
  clientInfo: { name: 'startup-test', version: '1' },
});

/** Runs `mcp serve`, sends `lines` one after the other (each once the previous is answered), returns the answers. */
function converse(
  bin: string,
  cwd: string,
  lines: readonly string[],
  env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: cwd,
    AGENTSECRETS_HOME: join(cwd, '.as'),
    NO_COLOR: '1',
  },
): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'mcp', 'serve'], { cwd, env });
    const answers: Record<string, unknown>[] = [];
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`no answer to ${lines[answers.length]} within 60 s; stderr: ${stderr}`));
    }, 60_000);
    child.stdout.on('data', (c: Buffer) => {
      buffer += c.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        answers.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
        buffer = buffer.slice(nl + 1);
        if (answers.length < lines.length) child.stdin.write(lines[answers.length]);
        else child.stdin.end();
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(answers);
    });
    child.stdin.write(lines[0]);
  });
}

let lean: string;
let removed: string[];
let cwd: string;

beforeAll(async () => {
  // Inside the package's node_modules, so that the copy resolves the CLI's dependencies as the build does.
  const cache = join(dirname(BIN), '..', 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'mcp-startup-'));
  cwd = await mkdtemp(join(dir, 'cwd-'));
  removed = [];
  for (const name of await readdir(dirname(BIN))) {
    if (!name.endsWith('.js')) continue;
    const { imported, bundled } = await bundleFile(dirname(BIN), name);
    if ([...imported, ...bundled].some((p) => CORE.includes(p))) removed.push(name);
    else await copyFile(join(dirname(BIN), name), join(dir, name));
  }
  lean = join(dir, 'bin.js');
});

afterAll(async () => {
  await rm(dirname(lean), { recursive: true, force: true });
});

describe('mcp serve startup', () => {
  it('answers initialize and tools/list before it loads the core', async () => {
    expect(removed.length).toBeGreaterThanOrEqual(1);
    const lines = [
      INITIALIZE,
      `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`,
    ];
    // The notification gets no answer: ask for the tool list right behind it.
    const conversation = [`${lines[0]}`, `${lines[1]}${request(2, 'tools/list')}`];
    const full = await converse(BIN, cwd, conversation);
    const withoutCore = await converse(lean, cwd, conversation);
    expect(full.map((a) => a.id)).toEqual([1, 2]);
    expect(withoutCore).toEqual(full);
  });

  it('loads the core at the first tool call', async () => {
    const call = request(2, 'tools/call', { name: 'status', arguments: {} });
    const [, full] = await converse(BIN, cwd, [INITIALIZE, call]);
    const [, withoutCore] = await converse(lean, cwd, [INITIALIZE, call]);
    expect(JSON.stringify(full)).toContain('NOT_SET_UP');
    expect(withoutCore).toMatchObject({ id: 2, result: { isError: true } });
    expect(JSON.stringify(withoutCore)).not.toContain('NOT_SET_UP');
  });

  it('never loads the core when a proxy runs', async () => {
    const machine = await preparedMachine(['http://127.0.0.1:9']);
    const proxy = await startProxyProcess(machine);
    try {
      // No passphrase: the vault could not be opened here, only the proxy can answer.
      const { AGENTSECRETS_PASSPHRASE: _, ...env } = machine.env;
      const tool = (id: number, name: string) => request(id, 'tools/call', { name, arguments: {} });
      const answers = await converse(
        lean,
        machine.project,
        [INITIALIZE, tool(2, 'list_secrets'), tool(3, 'status'), tool(4, 'audit_log')],
        env,
      );
      expect(answers.map((a) => a.id)).toEqual([1, 2, 3, 4]);
      expect(answers.filter((a) => (a.result as { isError?: boolean }).isError)).toEqual([]);
      expect(JSON.stringify(answers[1])).toContain('API_KEY');
      expect(answers[2]).toMatchObject({ result: { structuredContent: { proxy: { running: true } } } });
    } finally {
      await proxy.stop();
      await rm(machine.root, { recursive: true, force: true });
    }
  });
});
