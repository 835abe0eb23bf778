import { spawn } from 'node:child_process';
import { appendFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEvent, AuditLog, followAudit, GENESIS_HASH, readLast, verifyAuditLog } from './index.js';
import { ioStats, lineHash } from './internal/files.js';
import { event, fileLines, runWriter, tempLog } from './test/helpers.js';

let dir: string;
let path: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, path, cleanup } = await tempLog());
});
afterEach(() => cleanup());

describe('the writer', () => {
  it('writes a chain from the genesis hash, mode 0600 in a 0700 directory, in canonical field order', async () => {
    const log = new AuditLog({ path });
    const first = (await log.append(event(1)))!;
    const second = (await log.append(event(2)))!;
    const lines = await fileLines(path);
    expect(first.prev).toBe(GENESIS_HASH);
    expect(second.prev).toBe(lineHash(lines[0] as string));
    expect(first.id).toMatch(/^ev_[0-9a-f]{32}$/);
    expect(first.id).not.toBe(second.id);
    expect(JSON.parse(lines[1] as string)).toEqual(second);
    expect(Object.keys(JSON.parse(lines[0] as string))).toEqual([
      'ts',
      'id',
      'prev',
      'transport',
      'agent_id',
      'method',
      'target',
      'secret_keys',
      'styles',
      'status',
      'reason',
      'http_status',
      'redacted',
      'duration_ms',
    ]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(`${dir}/home`)).mode & 0o777).toBe(0o700);
    expect(await verifyAuditLog(path)).toEqual({ ok: true, lines: 2 });
  });

  it('keeps the order of appends made at once in one process, in batches under one lock', async () => {
    const log = new AuditLog({ path, denials: false });
    const written = await Promise.all(Array.from({ length: 2500 }, (_, i) => log.append(event(i))));
    expect(written.map((e) => e!.duration_ms)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    const lines = await fileLines(path);
    expect(lines.map((l) => (JSON.parse(l) as AuditEvent).duration_ms)).toEqual(
      written.map((e) => e!.duration_ms),
    );
    expect(await verifyAuditLog(path)).toEqual({ ok: true, lines: 2500 });
  });

  it('keeps a torn last line on its own line, so the damage is named and later lines still read', async () => {
    const log = new AuditLog({ path });
    await log.append(event(1));
    await log.append(event(2));
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, -30)); // a crash in the middle of the second line
    await log.append(event(3));
    const lines = await fileLines(path);
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2] as string).prev).toBe(lineHash(lines[1] as string));
    expect((await readLast(path, 5)).map((e) => e.duration_ms)).toEqual([1, 3]);
    // Crash damage, not tampering: the chain continues from the torn bytes, and the verifier says so.
    expect(await verifyAuditLog(path)).toEqual({
      ok: true,
      lines: 3,
      torn: [{ file: path, line: 2, reason: expect.stringMatching(/torn by a crash/) }],
    });
  });

  it('rotates by size, keeps maxFiles, and continues the chain into the new file', async () => {
    const log = new AuditLog({ path, maxBytes: 1500, maxFiles: 3, keepMs: 0 });
    for (let i = 0; i < 60; i += 1) await log.append(event(i));
    expect((await stat(`${path}.3`)).isFile()).toBe(true);
    await expect(stat(`${path}.4`)).rejects.toMatchObject({ code: 'ENOENT' });
    for (const file of [path, `${path}.1`, `${path}.2`, `${path}.3`]) {
      expect((await stat(file)).size).toBeLessThan(1500 + 400);
    }
    const newestRotated = await fileLines(`${path}.1`);
    const live = await fileLines(path);
    expect(JSON.parse(live[0] as string).prev).toBe(lineHash(newestRotated.at(-1) as string));
    // The oldest files were dropped: the oldest kept line is the anchor, and the result says so.
    const result = await verifyAuditLog(path);
    expect(result.ok).toBe(true);
    expect(result.anchored).toBe(true);
    expect((await readLast(path, 1000)).at(-1)?.duration_ms).toBe(59);
  });

  it('drops files beyond a lowered maxFiles, so no gap is left behind', async () => {
    const big = new AuditLog({ path, maxBytes: 1000, maxFiles: 10 });
    for (let i = 0; i < 60; i += 1) await big.append(event(i));
    expect((await stat(`${path}.8`)).isFile()).toBe(true);
    const small = new AuditLog({ path, maxBytes: 1000, maxFiles: 2, keepMs: 0 });
    for (let i = 60; i < 70; i += 1) await small.append(event(i));
    await expect(stat(`${path}.3`)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await verifyAuditLog(path)).ok).toBe(true);
  });

  it('starts a new file from the rotated one when the live file is missing', async () => {
    const log = new AuditLog({ path, maxBytes: 1000 });
    for (let i = 0; i < 8; i += 1) await log.append(event(i));
    await rm(path, { force: true }); // as if a crash came between the rename and the first write
    await log.append(event(8));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true });
  });

  it('writes to the file at the path, not to one it held open that was moved aside or removed', async () => {
    const log = new AuditLog({ path });
    await log.append(event(1));
    await rename(path, `${path}.aside`);
    await log.append(event(2));
    expect(await fileLines(`${path}.aside`)).toHaveLength(1);
    expect((await fileLines(path)).map((l) => (JSON.parse(l) as AuditEvent).duration_ms)).toEqual([2]);
    await rm(path);
    await log.append(event(3));
    expect((await fileLines(path)).map((l) => (JSON.parse(l) as AuditEvent).duration_ms)).toEqual([3]);
    await log.close();
  });
});

describe('the lock', () => {
  it('fails with AUDIT_IO when a live process holds the lock past the timeout', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const log = new AuditLog({ path, lockTimeoutMs: 300 });
      await log.append(event(1)); // creates the directory
      await writeFile(`${path}.lock`, JSON.stringify({ pid: holder.pid, host: hostname(), nonce: 'held' }));
      const err = await log.append(event(2)).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code).toBe('AUDIT_IO');
      expect(err?.message).toContain('still held by another process');
      expect(await fileLines(path)).toHaveLength(1);
    } finally {
      holder.kill();
    }
  });

  it('names the live file, not the lock, when the file cannot be looked at under a free lock', async () => {
    const log = new AuditLog({ path });
    await log.append(event(1));
    await rm(path);
    await symlink(path, path); // a loop: ELOOP
    const err = await log.append(event(2)).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err).toMatchObject({ code: 'AUDIT_IO', message: expect.stringContaining('cannot append to') });
    expect(err?.message).toContain('ELOOP');
  });

  it('takes over a lock left by a process that died', async () => {
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = dead.pid;
    await new Promise((resolve) => dead.on('exit', resolve));
    const log = new AuditLog({ path, lockTimeoutMs: 5000 });
    await log.append(event(1));
    await writeFile(`${path}.lock`, JSON.stringify({ pid, host: hostname(), nonce: 'dead' }));
    await log.append(event(2));
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await verifyAuditLog(path)).toEqual({ ok: true, lines: 2 });
  });
});

describe('several processes', () => {
  it('lose, duplicate and interleave nothing while appending and rotating at once', async () => {
    const writers = 6;
    const each = 200;
    // A follower and repeated verifications run beside the writers: both must see a consistent log throughout.
    const stop = new AbortController();
    const followed: AuditEvent[] = [];
    const following = (async () => {
      for await (const e of followAudit(path, { signal: stop.signal, pollMs: 5, fromEnd: false }))
        followed.push(e);
    })();
    let verifying = true;
    const midway: { ok: boolean; reason?: string }[] = [];
    const verifier = (async () => {
      while (verifying) {
        const r = await verifyAuditLog(path);
        midway.push({
          ok: r.ok,
          ...(r.firstBad ? { reason: `${r.firstBad.file}:${r.firstBad.line} ${r.firstBad.reason}` } : {}),
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    await Promise.all(
      Array.from({ length: writers }, (_, who) =>
        runWriter(path, who, each, { maxBytes: 20_000, maxFiles: 1000 }),
      ),
    );
    verifying = false;
    await verifier;
    // Let the follower catch up with the last lines, then stop it.
    for (let i = 0; i < 500 && followed.length < writers * each; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    stop.abort();
    await following;

    const result = await verifyAuditLog(path);
    expect(result).toEqual({ ok: true, lines: writers * each });
    expect((await stat(`${path}.5`)).isFile()).toBe(true); // rotation happened during the run
    const all = await readLast(path, 10_000);
    expect(all).toHaveLength(writers * each);
    expect(new Set(all.map((e) => e.id)).size).toBe(writers * each);
    for (let who = 0; who < writers; who += 1) {
      const mine = all.filter((e) => e.agent_id === `writer-${who}`).map((e) => e.duration_ms);
      expect(mine).toEqual(Array.from({ length: each }, (_, i) => i));
    }
    expect(followed.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(midway.filter((r) => !r.ok)).toEqual([]);
    expect(midway.length).toBeGreaterThan(0);
  });

  it('appends after lines written by another process without breaking the chain', async () => {
    await runWriter(path, 1, 3);
    const log = new AuditLog({ path });
    await log.append(event(1));
    await runWriter(path, 2, 3);
    await log.append(event(2));
    expect(await verifyAuditLog(path)).toEqual({ ok: true, lines: 8 });
  });

  it('chains on from its own last line without reading the tail back while no one else wrote', async () => {
    const log = new AuditLog({ path });
    await log.append(event(1));
    const read = ioStats.bytesRead;
    await log.append(event(2));
    await log.append(event(3));
    expect(ioStats.bytesRead).toBe(read);
    // Any change to the file — here a line appended by hand, which breaks the chain — makes it read the tail again.
    await appendFile(path, `${(await readFile(path, 'utf8')).trimEnd().split('\n')[0]}\n`);
    await log.append(event(4));
    expect(ioStats.bytesRead).toBeGreaterThan(read);
    const lines = await fileLines(path);
    expect(JSON.parse(lines[4]!).prev).toBe(lineHash(lines[3]!));
  });

  it('makes the directory again when it was removed after an earlier write', async () => {
    const log = new AuditLog({ path });
    await log.append(event(1));
    await rm(dirname(path), { recursive: true, force: true });
    await log.append(event(2));
    expect(await verifyAuditLog(path)).toEqual({ ok: true, lines: 1 });
    expect((await stat(dirname(path))).mode & 0o777).toBe(0o700);
  });
});

describe('a flood of denials', () => {
  it('is summarised: a few lines, with counts that add up, and no rotation of older files', async () => {
    // Kept by count only, one rotated file: before summaries, 35,000 lines of 2 KB rotated the first event away.
    const log = new AuditLog({ path, maxBytes: 1024 * 1024, maxFiles: 1, keepMs: 0 });
    await log.append(event(1, { status: 'OK', reason: null, http_status: 200 }));
    const denials = 35_000;
    const long = 'a'.repeat(1900);
    await Promise.all(
      Array.from({ length: denials }, (_, i) =>
        log.append(
          event(i, {
            status: 'BLOCKED',
            reason: 'DOMAIN_NOT_ALLOWED',
            http_status: null,
            secret_keys: ['API_KEY'],
            agent_id: `agent-${i % 400}`,
            target: `https://evil-${i % 50}.example/${long}/${i}`,
          }),
        ),
      ),
    );
    await log.close();
    const lines = [...(await fileLines(`${path}.1`).catch(() => [])), ...(await fileLines(path))];
    const events = lines.map((l) => JSON.parse(l) as AuditEvent);
    expect(events.length).toBeLessThan(400);
    expect(events[0]?.status).toBe('OK');
    const counted = events
      .filter((e) => e.status === 'BLOCKED')
      .reduce((sum, e) => sum + (e.repeated ?? 1), 0);
    expect(counted).toBe(denials);
    const result = await verifyAuditLog(path);
    expect(result.ok).toBe(true);
    expect(result.unverifiable).toBeUndefined();
  });

  it('never summarises a use of a credential', async () => {
    const log = new AuditLog({ path });
    for (let i = 0; i < 100; i += 1)
      await log.append(event(1, { status: 'OK', reason: null, http_status: 200 }));
    for (let i = 0; i < 100; i += 1)
      await log.append(event(1, { status: 'ERROR', reason: 'UPSTREAM_RESET' }));
    expect(await fileLines(path)).toHaveLength(200);
  });
});

describe('fail closed', () => {
  it('truncates a long target instead of refusing the event', async () => {
    const log = new AuditLog({ path });
    const target = `https://api.example.com/${'p'.repeat(5000)}`;
    const written = await log.append(event(1, { target }));
    expect(written?.target).toHaveLength(2048);
    expect(written?.target).toMatch(/^https:\/\/api\.example\.com\/p+\{truncated:\d+\}$/);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true });
  });

  it('keeps events whose write failed, refuses readiness until they are written, then writes them first', async () => {
    const log = new AuditLog({ path, lockTimeoutMs: 200 });
    await log.append(event(1));
    await log.ready();
    // The directory becomes unwritable (root ignores modes, so the lock file is put out of reach instead).
    await mkdir(`${path}.lock`);
    await expect(log.append(event(2))).rejects.toMatchObject({ code: 'AUDIT_IO' });
    expect(log.owed).toBe(1);
    await expect(log.ready()).rejects.toMatchObject({
      code: 'AUDIT_IO',
      message: expect.stringMatching(/1 audit event could not be written/),
    });
    await rm(`${path}.lock`, { recursive: true });
    await log.ready();
    expect(log.owed).toBe(0);
    await log.append(event(3));
    expect((await fileLines(path)).map((l) => (JSON.parse(l) as AuditEvent).duration_ms)).toEqual([1, 2, 3]);
  });

  it('refuses readiness for an event that could not be recorded', async () => {
    const log = new AuditLog({ path });
    await expect(
      log.ready(event(1, { secret_keys: Array.from({ length: 65 }, (_, i) => `K${i}`) })),
    ).rejects.toMatchObject({ code: 'AUDIT_EVENT_INVALID' });
    // A probe that passed once is not taken for one that differs from it only by a field that is undefined.
    await log.ready(event(1));
    await log.ready(event(1));
    await expect(log.ready({ ...event(1), extra: undefined } as never)).rejects.toMatchObject({
      code: 'AUDIT_EVENT_INVALID',
    });
    await expect(log.ready({ ...event(1), agent_id: undefined } as never)).rejects.toMatchObject({
      code: 'AUDIT_EVENT_INVALID',
    });
    // Nor one read twice with different answers: a probe whose target is valid on one read and not on the next
    // leaves nothing that lets the invalid target through afterwards.
    const bad = 'https://api.example.com/v1/items?token=abc';
    for (let valid = 0; valid < 4; valid += 1) {
      const fresh = new AuditLog({ path: `${path}.${valid}` });
      let reads = 0;
      const shifty = { ...event(1) };
      Object.defineProperty(shifty, 'target', {
        enumerable: true,
        get: () => (reads++ < valid ? event(1).target : bad),
      });
      await fresh.ready(shifty).catch(() => undefined);
      await expect(fresh.ready({ ...event(1), target: bad })).rejects.toMatchObject({
        code: 'AUDIT_EVENT_INVALID',
      });
    }
    // Nor inside a nested field.
    await log.ready(event(1, { claims: { transport: 'cli' } }));
    await expect(
      log.ready(event(1, { claims: { transport: 'cli', extra: undefined } as never })),
    ).rejects.toMatchObject({ code: 'AUDIT_EVENT_INVALID' });
    await log.ready(event(1));
  });

  it('answers readyNow without waiting only while the last look found nothing owed and enough free space', async () => {
    const log = new AuditLog({ path, lockTimeoutMs: 200 });
    // No free-space reading yet: the answer takes a look, so readyNow sends the caller to ready().
    expect(log.readyNow(event(1))).toBe(false);
    await log.ready(event(1));
    expect(log.readyNow(event(1))).toBe(true);
    // An invalid probe throws as ready() rejects.
    expect(() => log.readyNow({ ...event(1), extra: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'AUDIT_EVENT_INVALID' }),
    );
    // An event owed: not ready without trying it again.
    await mkdir(`${path}.lock`, { recursive: true });
    await expect(log.append(event(2))).rejects.toMatchObject({ code: 'AUDIT_IO' });
    expect(log.readyNow(event(1))).toBe(false);
    await rm(`${path}.lock`, { recursive: true });
    await log.ready(event(1));
    expect(log.readyNow(event(1))).toBe(true);
    // Too little free space at the last look: never ready without waiting; ready() gives the reason.
    const full = new AuditLog({ path: `${path}.full`, minFreeBytes: Number.MAX_SAFE_INTEGER });
    await expect(full.ready(event(1))).rejects.toMatchObject({ code: 'AUDIT_IO' });
    expect(full.readyNow(event(1))).toBe(false);
    // A reading is good for FREE_SPACE_TTL_MS (100 ms); after that a look is due again.
    await new Promise((r) => setTimeout(r, 150));
    expect(log.readyNow(event(1))).toBe(false);
  });
});
