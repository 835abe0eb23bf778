import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { AuditEventInput } from '../schema.js';

/** The built package, as child processes import it (built by the global setup when src is newer). */
export const DIST_URL = pathToFileURL(fileURLToPath(new URL('../../dist/index.js', import.meta.url))).href;

export const run = promisify(execFile);

/** A valid event; `i` shows up in `duration_ms` so tests can tell events apart. */
export function event(i: number, extra: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    transport: 'proxy',
    agent_id: 'agent-1',
    method: 'GET',
    target: 'https://api.example.com/v1/items',
    secret_keys: [`KEY_${i % 3}`],
    styles: ['bearer'],
    status: i % 4 === 0 ? 'BLOCKED' : 'OK',
    reason: i % 4 === 0 ? 'DOMAIN_NOT_ALLOWED' : null,
    http_status: i % 4 === 0 ? null : 200,
    redacted: false,
    duration_ms: i,
    ...extra,
  };
}

/** A fresh directory; the log goes in a `home` subdirectory that does not exist yet. */
export async function tempLog(): Promise<{ dir: string; path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'as-audit-'));
  return {
    dir,
    path: join(dir, 'home', 'audit.jsonl'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The lines of a file, without the final newline. */
export async function fileLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).replace(/\n$/, '').split('\n');
}

/**
 * Source of a child process that appends `count` events to `path` through the built package, as writer `who`;
 * `options` are extra AuditLog options.
 */
export function writerScript(options: Record<string, number> = {}): string {
  return `
    import { AuditLog } from ${JSON.stringify(DIST_URL)};
    const [path, who, count] = process.argv.slice(1);
    const log = new AuditLog({ path, ...${JSON.stringify(options)} });
    for (let i = 0; i < Number(count); i += 1) {
      await log.append({ transport: 'cli', agent_id: 'writer-' + who, method: 'POST', target: 'https://api.example.com/v1/x',
        secret_keys: ['KEY_' + who], styles: ['header'], status: 'OK', reason: null, http_status: 201, redacted: false,
        duration_ms: i });
    }`;
}

/** Runs {@link writerScript} in a child node process. */
export function runWriter(
  path: string,
  who: number,
  count: number,
  options: Record<string, number> = {},
): Promise<unknown> {
  return run(process.execPath, [
    '--input-type=module',
    '-e',
    writerScript(options),
    path,
    String(who),
    String(count),
  ]);
}
