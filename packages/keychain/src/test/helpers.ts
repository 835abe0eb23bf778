import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { KdfParams } from '@agentsecrets/crypto';

/** The built package, which child processes import (global setup builds it when src is newer). */
export const DIST_URL = pathToFileURL(fileURLToPath(new URL('../../dist/index.js', import.meta.url))).href;

/** The lowest Argon2id parameters crypto accepts (19 MiB, t=2): keeps tests fast without weakening any check. */
export const FAST_KDF: KdfParams = { memoryKiB: 19 * 1024, iterations: 2, parallelism: 1 };

/** True when CI is set: there, tests that need a real keychain must run rather than be skipped. */
export const IN_CI = Boolean(process.env.CI);

/** True when `command` is on PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(
  prefix = 'agentsecrets-keychain-',
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A namespace id unique to one test run, so runs never see each other's items in a shared keychain. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, capturing its output. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Writes an ESM script into `dir` (so it is cleaned up with it) and returns its path. */
export async function writeScript(dir: string, body: string): Promise<string> {
  const path = join(dir, `script-${randomBytes(4).toString('hex')}.mjs`);
  await writeFile(path, body);
  return path;
}

/**
 * Runs `node script` inside a private D-Bus session with its own unlocked gnome-keyring, as CI does, with HOME and the
 * XDG directories in `home` so every file the keyring writes lands there.
 */
export function runInKeyringSession(
  home: string,
  script: string,
  env: NodeJS.ProcessEnv = {},
): Promise<ProcessResult> {
  const sessionEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    ...env,
  };
  return run(
    'dbus-run-session',
    [
      '--',
      'sh',
      '-c',
      'printf ci-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$@"',
      'sh',
      process.execPath,
      script,
    ],
    { env: sessionEnv },
  );
}

/** The last line of stdout parsed as JSON: child scripts report their findings that way. */
export function lastJson<T>(result: ProcessResult): T {
  const lines = result.stdout.trim().split('\n');
  const last = lines[lines.length - 1];
  if (last === undefined || last === '') {
    throw new Error(`child printed nothing (exit ${result.code}); stderr: ${result.stderr.slice(0, 2000)}`);
  }
  return JSON.parse(last) as T;
}
