// Issue 13 §3, against the built binary: what a new user hits in daily use. `secrets import` reads dotenv as the
// dotenv package does (a quoted value with a comment does not swallow the next lines) and `-` reads stdin;
// `call -d @-` sends stdin as the body; Ctrl-C at a prompt exits 130 and `env -- missing-cmd` 127.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freshMachine, run, transcript } from './helpers.js';

const DB_URL = `postgres://app:${randomBytes(8).toString('hex')}@localhost:5432/app`;
const TOKEN = `sk_live_${randomBytes(12).toString('hex')}`;

let upstream: Upstream;
let machine: Awaited<ReturnType<typeof freshMachine>>;
// Wide: the CLI starts slowly on a loaded machine.
const opts = (input?: string) => ({
  env: machine.env,
  cwd: machine.project,
  timeoutMs: 120_000,
  ...(input === undefined ? {} : { input }),
});

/** Sends whatever the upstream last received through `call` with `KEY` as a bearer, and returns that header. */
async function bearerOf(key: string): Promise<string | undefined> {
  const res = await run(['call', '--url', `${upstream.origin}/echo`, '--bearer', key], opts());
  expect(res.code, res.stderr).toBe(0);
  return upstream.requests.at(-1)!.headers.authorization as string | undefined;
}

beforeAll(async () => {
  upstream = await startUpstream();
  machine = await freshMachine();
  expect((await run(['init', '--yes'], opts())).code).toBe(0);
  expect((await run(['allowlist', 'add', `http://127.0.0.1:${upstream.port}`], opts())).code).toBe(0);
}, 240_000);

afterAll(async () => {
  await run(['proxy', 'stop'], opts()).catch(() => undefined);
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
  expect(findLeaks(transcript.join('\n'), DB_URL)).toEqual([]);
  expect(findLeaks(transcript.join('\n'), TOKEN)).toEqual([]);
});

describe('secrets import', () => {
  it('a quoted value with a comment on line 1 does not swallow the next lines', async () => {
    await writeFile(
      join(machine.project, '.env'),
      `DATABASE_URL="${DB_URL}" # local db\nREDIS_URL=redis://localhost:6379\nexport API_TOKEN='${TOKEN}'\n`,
    );
    const res = await run(['secrets', 'import'], opts());
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('imported 3 secrets: DATABASE_URL, REDIS_URL, API_TOKEN');
    expect(await bearerOf('DATABASE_URL')).toBe(`Bearer ${DB_URL}`);
    expect(await bearerOf('REDIS_URL')).toBe('Bearer redis://localhost:6379');
    expect(await bearerOf('API_TOKEN')).toBe(`Bearer ${TOKEN}`);
  });

  it('- reads the file from standard input', async () => {
    const res = await run(
      ['secrets', 'import', '-'],
      opts(`# from a pipe\nexport PIPED="piped value" # inline comment\n`),
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('imported 1 secrets: PIPED');
    expect(res.stdout).not.toContain('consider deleting');
    expect(await bearerOf('PIPED')).toBe('Bearer piped value');
  });

  it('refuses a key the vault cannot hold and imports nothing', async () => {
    const res = await run(['secrets', 'import', '-'], opts(`FIRST_OK=${TOKEN}\n9LIVES=${TOKEN}\n`));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('INVALID_SECRET_NAME');
    expect((await run(['secrets', 'list', '--json'], opts())).stdout).not.toContain('FIRST_OK');
  });
});

describe('call', () => {
  it('-d @- sends standard input as the body; -d @file a file', async () => {
    const res = await run(
      [
        'call',
        '-X',
        'POST',
        '--url',
        `${upstream.origin}/echo`,
        '-d',
        '@-',
        '-H',
        'Content-Type: text/plain',
      ],
      opts('body from stdin\n'),
    );
    expect(res.code, res.stderr).toBe(0);
    expect(upstream.requests.at(-1)!.body.toString('utf8')).toBe('body from stdin\n');
    await writeFile(join(machine.project, 'body.json'), '{"from":"file"}');
    const file = await run(
      ['call', '-X', 'POST', '--url', `${upstream.origin}/echo`, '-d', '@body.json'],
      opts(),
    );
    expect(file.code, file.stderr).toBe(0);
    expect(upstream.requests.at(-1)!.body.toString('utf8')).toBe('{"from":"file"}');
  });
});

describe('exit codes', () => {
  it('env -- a command that does not exist exits 127', async () => {
    const res = await run(['env', '--', 'no-such-command-for-agentsecrets'], opts());
    expect(res.code).toBe(127);
    expect(res.stderr).toContain('COMMAND_NOT_FOUND');
  });

  it('Ctrl-C at a prompt in a terminal exits 130', async () => {
    const env = { ...machine.env };
    delete env.AGENTSECRETS_PASSPHRASE;
    // `script` gives the CLI a real terminal; the Ctrl-C byte is typed once the prompt is up.
    const child = spawn(
      'script',
      ['-qfec', `${process.execPath} ${BIN} allowlist add example.com`, '/dev/null'],
      {
        env,
        cwd: machine.project,
        stdio: 'pipe',
      },
    );
    let out = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (!typed && out.includes('passphrase')) {
        typed = true;
        setTimeout(() => child.stdin.write('\u0003'), 300);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toContain('CANCELLED');
    expect(code).toBe(130);
  });
});

describe('conveniences', () => {
  it('-v prints the version, as --version does', async () => {
    const short = await run(['-v'], opts());
    expect(short.code).toBe(0);
    expect(short.stdout).toBe((await run(['--version'], opts())).stdout);
    expect(short.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('completion bash completes commands, subcommands and options from the command tree', async () => {
    const script = await run(['completion', 'bash'], opts());
    expect(script.code, script.stderr).toBe(0);
    const complete = (line: string) =>
      execFileSync(
        'bash',
        [
          '-c',
          `${script.stdout}\nCOMP_WORDS=(${line}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _agentsecrets; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      )
        .trim()
        .split('\n');
    expect(complete('agentsecrets se')).toEqual(['secrets', 'service']);
    expect(complete('agentsecrets sec')).toEqual(['secrets']);
    expect(complete("agentsecrets secrets ''")).toEqual(
      expect.arrayContaining(['import', 'list', 'set', 'diff']),
    );
    expect(complete('agentsecrets secrets import --')).toEqual(['--help']);
    expect(complete('agentsecrets call --b')).toEqual(
      expect.arrayContaining(['--bearer', '--basic', '--body-field']),
    );
    expect(complete('agentsecrets workspace allowlist l')).toEqual(['list', 'log']);
    expect(complete("agentsecrets completion ''")).toEqual(['-h', '--help']);
  });

  it.skipIf(!hasShell('fish'))('completion fish completes in fish itself', async () => {
    const script = await run(['completion', 'fish'], opts());
    const out = execFileSync('fish', ['-c', `${script.stdout}\ncomplete -C 'agentsecrets secrets im'`], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/^import\t/m);
    const call = execFileSync('fish', ['-c', `${script.stdout}\ncomplete -C 'agentsecrets call --be'`], {
      encoding: 'utf8',
    });
    expect(call).toMatch(/^--bearer\t/m);
  });

  it.skipIf(!hasShell('zsh'))('completion zsh is a valid zsh script', async () => {
    const script = await run(['completion', 'zsh'], opts());
    expect(script.stdout).toMatch(/^#compdef agentsecrets\n/);
    execFileSync('zsh', ['-n'], { input: script.stdout });
    for (const shell of ['tcsh', 'powershell'])
      expect((await run(['completion', shell], opts())).code).toBe(2);
  });
});

function hasShell(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

describe('with a proxy running, without the passphrase', () => {
  const noPassphrase = () => {
    const env = { ...machine.env };
    delete env.AGENTSECRETS_PASSPHRASE;
    return { env, cwd: machine.project, timeoutMs: 120_000 };
  };

  beforeAll(async () => {
    expect((await run(['secrets', 'set', 'HOP_TOKEN', '--stdin'], opts(TOKEN))).code).toBe(0);
    const start = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
    expect(start.code, start.stderr).toBe(0);
  }, 120_000);

  it('allowlist list and project list work as secrets list does', async () => {
    const secrets = await run(['secrets', 'list', '--json'], noPassphrase());
    expect(secrets.code, secrets.stderr).toBe(0);
    const allowlist = await run(['allowlist', 'list', '--json'], noPassphrase());
    expect(allowlist.code, allowlist.stderr).toBe(0);
    expect(JSON.parse(allowlist.stdout)).toEqual([
      { entry: `http://127.0.0.1:${upstream.port}`, source: 'local' },
    ]);
    const projects = await run(['project', 'list'], noPassphrase());
    expect(projects.code, projects.stderr).toBe(0);
    expect(projects.stdout).toMatch(/^\* /m);
  });

  it('a prompt refused without a terminal mentions --stdin only where the command has it', async () => {
    const owner = await run(['allowlist', 'add', 'example.com'], noPassphrase());
    expect(owner.code).toBe(6);
    expect(owner.stderr).toContain('AGENTSECRETS_PASSPHRASE');
    expect(owner.stderr).not.toContain('--stdin');
    const set = await run(['secrets', 'set', 'NEW_KEY'], { ...opts(), input: undefined });
    expect(set.stderr).toContain('--stdin');
  });

  it('MCP api_call through the proxy shows the API headers, not the proxy hop ones', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', 'serve'],
      env: noPassphrase().env as Record<string, string>,
      cwd: machine.project,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'daily-use', version: '1.0.0' });
    await client.connect(transport);
    try {
      const res = await client.callTool({
        name: 'api_call',
        arguments: { url: `${upstream.origin}/echo`, injections: { bearer: 'HOP_TOKEN' } },
      });
      transcript.push(JSON.stringify(res));
      expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
      const out = res.structuredContent as { headers: Record<string, string>; redacted: boolean };
      expect(out.redacted).toBe(true);
      const names = Object.keys(out.headers).map((n) => n.toLowerCase());
      expect(names).toContain('content-type');
      expect(names.filter((n) => n === 'trailer' || n.startsWith('x-as-'))).toEqual([]);
      expect(JSON.stringify(res)).not.toMatch(/x-as-redacted/i);
    } finally {
      await client.close();
    }
  });
});
