import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditEventInput,
  AuditLog,
  followAudit,
  GENESIS_HASH,
  readLast,
  verifyAuditLog,
} from './index.js';
import { ioStats } from './internal/files.js';

const run = promisify(execFile);
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

let dir: string;
let path: string;

function event(i: number, extra: Partial<AuditEventInput> = {}): AuditEventInput {
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

async function lines(): Promise<string[]> {
  return (await readFile(path, 'utf8')).trimEnd().split('\n');
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-audit-'));
  path = join(dir, 'home', 'audit.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the audit event', () => {
  it('refuses unknown fields and anything that could carry a value, naming only the field', async () => {
    const log = new AuditLog({ path });
    const canary = 'sk_live_AUDIT_CANARY_123456';
    const attempts: unknown[] = [
      { ...event(1), value: canary },
      { ...event(1), authorization: `Bearer ${canary}` },
      { ...event(1), target: `https://api.example.com/v1?key=${canary}` },
      { ...event(1), target: `https://user:${canary}@api.example.com/` },
      { ...event(1), reason: `leaked "${canary}"` },
      { ...event(1), reason: `${canary}=` },
      { ...event(1), agent_id: 'line\nbreak' },
      { ...event(1), secret_keys: ['not a key'] },
    ];
    for (const bad of attempts) {
      const err = await log.append(bad as AuditEventInput).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code, JSON.stringify(bad).slice(0, 80)).toBe('AUDIT_EVENT_INVALID');
      expect(err?.message).not.toContain(canary);
    }
    await expect(stat(path)).rejects.toThrow();
  });

  it('writes a chain starting at genesis with mode 0600 in a 0700 directory', async () => {
    const log = new AuditLog({ path });
    const first = await log.append(event(1));
    const second = await log.append(event(2));
    expect(first.prev).toBe(GENESIS_HASH);
    expect(second.prev).not.toBe(GENESIS_HASH);
    expect(first.id).toMatch(/^ev_[0-9a-f]{32}$/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'home'))).mode & 0o777).toBe(0o700);
    expect(Object.keys(JSON.parse((await lines())[0]!)).slice(0, 3)).toEqual(['ts', 'id', 'prev']);
    expect(await verifyAuditLog(path)).toEqual({ ok: true, lines: 2 });
  });
});

describe('reading', () => {
  it('returns the last n events, filtered, oldest first, across rotated files', async () => {
    const log = new AuditLog({ path, maxBytes: 2000, maxFiles: 50 });
    for (let i = 0; i < 40; i += 1) await log.append(event(i));
    expect(await stat(`${path}.1`)).toBeDefined();
    const last = await readLast(path, 5);
    expect(last.map((e) => e.duration_ms)).toEqual([35, 36, 37, 38, 39]);
    const blocked = await readLast(path, 100, { status: 'BLOCKED' });
    expect(blocked.map((e) => e.duration_ms)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
    const byKey = await readLast(path, 3, { secret: 'KEY_1' });
    expect(byKey.map((e) => e.duration_ms)).toEqual([31, 34, 37]);
    expect(await readLast(join(dir, 'missing.jsonl'), 5)).toEqual([]);
    expect((await verifyAuditLog(path)).ok).toBe(true);
  });

  it('does not read a 1 GB log whole to show the last 20 lines', async () => {
    const log = new AuditLog({ path, maxBytes: 4 * 1024 ** 3 });
    await log.append(event(0));
    const handle = await open(path, 'r+');
    await handle.truncate(1024 ** 3); // a sparse gigabyte
    await handle.close();
    await appendFile(path, '\n');
    for (let i = 1; i <= 30; i += 1) await log.append(event(i));
    ioStats.bytesRead = 0;
    const last = await readLast(path, 20);
    expect(last).toHaveLength(20);
    expect(last.at(-1)?.duration_ms).toBe(30);
    expect(ioStats.bytesRead).toBeLessThan(1024 * 1024);
  });

  it('follows new events, including across a rotation, until aborted', async () => {
    const log = new AuditLog({ path, maxBytes: 1500, maxFiles: 10 });
    await log.append(event(0));
    const stop = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const e of followAudit(path, { signal: stop.signal, pollMs: 10 })) {
        seen.push(e.duration_ms);
        if (seen.length === 12) stop.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 30));
    for (let i = 1; i <= 12; i += 1) {
      await log.append(event(i));
      await new Promise((r) => setTimeout(r, 15));
    }
    await following;
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });
});

describe('verification', () => {
  async function tampered(
    edit: (ls: string[]) => string[],
  ): Promise<{ line: number; reason: string } | undefined> {
    const log = new AuditLog({ path });
    for (let i = 0; i < 10; i += 1) await log.append(event(i + 1));
    await writeFile(path, `${edit(await lines()).join('\n')}\n`);
    return (await verifyAuditLog(path)).firstBad;
  }

  it('names an edited line', async () => {
    const bad = await tampered((ls) => ls.map((l, i) => (i === 4 ? l.replace('"GET"', '"PUT"') : l)));
    expect(bad).toMatchObject({ line: 5 });
    expect(bad?.reason).toContain('edited');
  });

  it('names the line after a deleted one', async () => {
    const bad = await tampered((ls) => ls.filter((_, i) => i !== 3));
    expect(bad).toMatchObject({ line: 4 });
    expect(bad?.reason).toContain('removed');
  });

  it('names reordered lines', async () => {
    const bad = await tampered((ls) => [ls[0]!, ls[2]!, ls[1]!, ...ls.slice(3)]);
    expect(bad).toMatchObject({ line: 2 });
  });

  it('notices the first lines removed, and a truncated last line', async () => {
    expect(await tampered((ls) => ls.slice(2))).toMatchObject({ line: 1 });
    const log = new AuditLog({ path });
    await log.append(event(99));
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, -20));
    expect((await verifyAuditLog(path)).ok).toBe(false);
  });
});

describe('several processes', () => {
  it('lose and interleave nothing while appending and rotating at once', async () => {
    const script = `
      import { AuditLog } from ${JSON.stringify(DIST)};
      const [path, who] = process.argv.slice(1);
      const log = new AuditLog({ path, maxBytes: 20000, maxFiles: 200 });
      for (let i = 0; i < 150; i += 1) {
        await log.append({ transport: 'cli', agent_id: 'writer-' + who, method: 'GET', target: null,
          secret_keys: [], styles: [], status: 'OK', reason: null, http_status: null, redacted: false, duration_ms: i });
      }`;
    await Promise.all(
      Array.from({ length: 6 }, (_, who) =>
        run(process.execPath, ['--input-type=module', '-e', script, path, String(who)]),
      ),
    );
    const result = await verifyAuditLog(path);
    expect(result).toEqual({ ok: true, lines: 900 });
    const all = await readLast(path, 10_000);
    for (let who = 0; who < 6; who += 1) {
      const mine = all.filter((e) => e.agent_id === `writer-${who}`).map((e) => e.duration_ms);
      expect(mine).toEqual(Array.from({ length: 150 }, (_, i) => i));
    }
    expect(await stat(`${path}.1`)).toBeDefined();
  });
});
