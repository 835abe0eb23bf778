// `@agentsecrets/proxy/client`, as built: what a CLI run or an MCP server start loads to reach a running proxy. A
// resolve hook refuses the heavy packages (the core with argon2 and libsodium, undici, zod): the entry must load and
// find (here: not find) the proxy of a home without any of them.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const HEAVY = /^(undici|zod|argon2|libsodium-wrappers|@agentsecrets\/core|@modelcontextprotocol\/sdk)(\/|$)/;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-light-entry-'));
  await writeFile(
    join(dir, 'hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  if (${HEAVY}.test(specifier)) throw new Error('the light entry loaded ' + specifier);
  return next(specifier, context);
}\n`,
  );
  await writeFile(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${join(dir, 'hooks.mjs')}`).href)});\n`,
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function run(code: string) {
  return spawnSync(
    process.execPath,
    ['--import', join(dir, 'register.mjs'), '--input-type=module', '-e', code],
    {
      cwd: PACKAGE,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: dir },
    },
  );
}

it('loads, and finds no proxy in an empty home, without the core, undici or zod', () => {
  const r = run(`
    const { ProxyClient, readProxyState, PROXY_ROUTES } = await import('@agentsecrets/proxy/client');
    const { resolveHome } = await import('@agentsecrets/fs');
    console.log(typeof ProxyClient, await readProxyState(resolveHome({}, ${JSON.stringify(dir)})), PROXY_ROUTES.session);
  `);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('function undefined /session');
});

it('is what the hook catches: the full entry loads the core', () => {
  const r = run(`await import('@agentsecrets/proxy');`);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/the light entry loaded (@agentsecrets\/core|undici|zod)/);
});
