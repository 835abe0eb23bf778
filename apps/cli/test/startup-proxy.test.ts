// With a proxy running, the agent's commands go through it and load none of the vault's dependencies: a resolve hook
// in the CLI's process refuses argon2, libsodium, keytar, undici, zod and the MCP SDK, and `secrets list`, `call`
// and `run` (its registration with the proxy) still work. What makes them start in ~100 ms instead of ~700.

import { rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers.js';
import { type ProxyProcess, preparedMachine, startProxyProcess } from './proxy-process.js';

const HEAVY = /^(argon2|libsodium-wrappers|@github\/keytar|undici|zod|@modelcontextprotocol\/sdk)(\/|$)/;
const SECRET = 'sk_test_STARTUP_canary_0123456789';

let machine: Awaited<ReturnType<typeof preparedMachine>>;
let upstream: Server;
let origin: string;
let proxy: ProxyProcess;
let guarded: NodeJS.ProcessEnv;

beforeAll(async () => {
  upstream = createServer((req, res) => res.end(JSON.stringify({ auth: req.headers.authorization ?? null })));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  machine = await preparedMachine([origin], { secret: SECRET });
  proxy = await startProxyProcess(machine);
  const hooks = join(machine.root, 'hooks.mjs');
  await writeFile(
    hooks,
    `export async function resolve(specifier, context, next) {
  if (${HEAVY}.test(specifier)) throw new Error('loaded ' + specifier);
  return next(specifier, context);
}\n`,
  );
  const register = join(machine.root, 'register.mjs');
  await writeFile(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  // No passphrase: an agent's environment has none, and the commands must not need one with a proxy running.
  const { AGENTSECRETS_PASSPHRASE: _, ...env } = machine.env;
  guarded = { ...env, NODE_OPTIONS: `--import=${pathToFileURL(register).href}` };
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  upstream?.close();
  await rm(machine.root, { recursive: true, force: true });
});

describe('through a running proxy', () => {
  it('the hook refuses what it should: without a proxy, secrets list loads the core and fails', async () => {
    const other = { ...guarded, AGENTSECRETS_HOME: join(machine.root, 'elsewhere') };
    const r = await run(['--debug', 'secrets', 'list'], { env: other, cwd: machine.project });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/loaded (argon2|libsodium-wrappers|@github\/keytar|undici|zod)/);
  });

  it('secrets list, call and run load none of the vault dependencies', async () => {
    const opts = { env: guarded, cwd: machine.project };
    const list = await run(['secrets', 'list'], opts);
    expect(list.stderr).toBe('');
    expect(list.stdout).toContain('API_KEY');

    const call = await run(['call', '--url', `${origin}/v1`, '--bearer', 'API_KEY'], opts);
    expect(call.stderr).toBe('');
    expect(JSON.parse(call.stdout)).toEqual({ auth: 'Bearer [REDACTED_BY_AGENTSECRETS]' });

    const ran = await run(
      ['run', '--no-sandbox', '--', 'sh', '-c', 'test -n "$API_KEY" && echo placeholder'],
      opts,
    );
    expect(ran.stdout).toBe('placeholder\n');
    expect(ran.code).toBe(0);
    for (const r of [list, call, ran]) expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('--version and -v answer before anything loads, as commander did', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await run([flag], { env: guarded, cwd: machine.project });
      expect(r).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
    }
  });
});
