import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI entry point. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** What one run of the CLI printed and how it exited. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Every byte any run printed, for the final leak search. */
export const transcript: string[] = [];

/** A fresh machine for one test file: its own HOME, AgentSecrets home and project directory. */
export async function freshMachine(): Promise<{ root: string; env: NodeJS.ProcessEnv; project: string }> {
  const root = await mkdtemp(join(tmpdir(), 'as-cli-'));
  const project = join(root, 'my-app');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(root, 'home'),
    AGENTSECRETS_HOME: join(root, 'home', '.agentsecrets'),
    AGENTSECRETS_KEYCHAIN: 'file',
    AGENTSECRETS_PASSPHRASE: 'owner passphrase for tests',
    NO_COLOR: '1',
  };
  const { mkdir } = await import('node:fs/promises');
  await mkdir(project, { recursive: true });
  return { root, env, project };
}

/** Runs the built CLI with arguments, optional stdin, in `cwd`. */
export function run(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; input?: string | Buffer; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: options.env,
      cwd: options.cwd,
      stdio: 'pipe',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = {
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      transcript.push(result.stdout, result.stderr);
      resolve(result);
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Every file under `root`, with its bytes. */
export async function filesUnder(root: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push({ path, bytes: await readFile(path) });
  }
  return out;
}
