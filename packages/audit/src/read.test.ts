import { appendFile, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEvent, AuditLog, followAudit, readLast, verifyAuditLog } from './index.js';
import { ioStats } from './internal/files.js';
import { event, runWriter, tempLog } from './test/helpers.js';

let dir: string;
let path: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, path, cleanup } = await tempLog());
});
afterEach(() => cleanup());

describe('readLast', () => {
  it('returns the last n events, newest last, filtered, across rotated files', async () => {
    const log = new AuditLog({ path, maxBytes: 2000, maxFiles: 50 });
    for (let i = 0; i < 40; i += 1) await log.append(event(i, i % 5 === 0 ? { transport: 'mcp' } : {}));
    expect((await stat(`${path}.3`)).isFile()).toBe(true);
    expect((await readLast(path, 5)).map((e) => e.duration_ms)).toEqual([35, 36, 37, 38, 39]);
    expect((await readLast(path, 100, { status: 'BLOCKED' })).map((e) => e.duration_ms)).toEqual([
      0, 4, 8, 12, 16, 20, 24, 28, 32, 36,
    ]);
    expect((await readLast(path, 3, { secret: 'KEY_1' })).map((e) => e.duration_ms)).toEqual([31, 34, 37]);
    expect(
      (await readLast(path, 100, { transport: 'mcp', status: 'BLOCKED' })).map((e) => e.duration_ms),
    ).toEqual([0, 20]);
    expect(await readLast(path, 0)).toEqual([]);
    expect(await readLast(join(dir, 'missing.jsonl'), 5)).toEqual([]);
  });

  it('filters by time', async () => {
    const log = new AuditLog({ path });
    const written: AuditEvent[] = [];
    for (let i = 0; i < 5; i += 1) {
      written.push((await log.append(event(i)))!);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const at = (i: number) => new Date((written[i] as AuditEvent).ts);
    expect((await readLast(path, 10, { since: at(2) })).map((e) => e.duration_ms)).toEqual([2, 3, 4]);
    expect((await readLast(path, 10, { until: at(1) })).map((e) => e.duration_ms)).toEqual([0, 1]);
    expect((await readLast(path, 10, { since: at(1), until: at(3) })).map((e) => e.duration_ms)).toEqual([
      1, 2, 3,
    ]);
    expect(await readLast(path, 10, { since: new Date(Date.now() + 3_600_000) })).toEqual([]);
  });

  it('skips lines it cannot parse', async () => {
    const log = new AuditLog({ path });
    await log.append(event(1));
    await appendFile(path, 'not json\n{"ts":"x"}\n');
    await log.append(event(2));
    expect((await readLast(path, 10)).map((e) => e.duration_ms)).toEqual([1, 2]);
  });

  it('does not read a 1 GB log whole to show the last 20 lines', async () => {
    const log = new AuditLog({ path, maxBytes: 4 * 1024 ** 3 });
    await log.append(event(0));
    const handle = await open(path, 'r+');
    await handle.truncate(1024 ** 3); // a sparse gigabyte of zero bytes after the first line
    await handle.close();
    await appendFile(path, '\n');
    for (let i = 1; i <= 30; i += 1) await log.append(event(i));
    expect((await stat(path)).size).toBeGreaterThan(1024 ** 3);

    ioStats.bytesRead = 0;
    const last = await readLast(path, 20);
    expect(last.map((e) => e.duration_ms)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    expect(ioStats.bytesRead).toBeLessThan(256 * 1024);

    // Appending reads only the tail too.
    ioStats.bytesRead = 0;
    await log.append(event(31));
    expect(ioStats.bytesRead).toBeLessThan(64 * 1024);

    // Asking for more than the file holds stops at the damaged region instead of scanning the gigabyte.
    ioStats.bytesRead = 0;
    expect(await readLast(path, 1000)).toHaveLength(31);
    expect(ioStats.bytesRead).toBeLessThan(4 * 1024 * 1024);

    // The verifier streams: it reports the gigabyte with no newline as the second line, without buffering it.
    expect((await verifyAuditLog(path)).firstBad).toMatchObject({
      line: 2,
      reason: expect.stringMatching(/more than 1048576 bytes with no newline/),
    });
  });
});

describe('followAudit', () => {
  it('yields events appended by another process, and stops on abort', async () => {
    const log = new AuditLog({ path });
    await log.append(event(0)); // before following: not yielded (fromEnd)
    const stop = new AbortController();
    const seen: AuditEvent[] = [];
    const following = (async () => {
      for await (const e of followAudit(path, { signal: stop.signal, pollMs: 10 })) {
        seen.push(e);
        if (seen.length === 12) stop.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the follower take its starting point
    await runWriter(path, 7, 12);
    await following;
    expect(seen.map((e) => [e.agent_id, e.duration_ms])).toEqual(
      Array.from({ length: 12 }, (_, i) => ['writer-7', i]),
    );
  });

  it('reads from the start when asked, filters, and follows a log that does not exist yet', async () => {
    const stop = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const e of followAudit(path, {
        signal: stop.signal,
        pollMs: 10,
        fromEnd: false,
        filter: { status: 'BLOCKED' },
      })) {
        seen.push(e.duration_ms);
        if (seen.length === 3) stop.abort();
      }
    })();
    const log = new AuditLog({ path });
    for (let i = 0; i < 12; i += 1) await log.append(event(i));
    await following;
    expect(seen).toEqual([0, 4, 8]);
  });

  it('finishes the old file after a rotation, even after several rotations between two looks', async () => {
    const log = new AuditLog({ path, maxBytes: 1200, maxFiles: 20 });
    await log.append(event(0));
    const stop = new AbortController();
    const seen: number[] = [];
    // A slow poll, so that many rotations happen between two looks.
    const following = (async () => {
      for await (const e of followAudit(path, { signal: stop.signal, pollMs: 400 })) {
        seen.push(e.duration_ms);
        if (seen.length === 30) stop.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let i = 1; i <= 30; i += 1) await log.append(event(i));
    await following;
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await stat(`${path}.3`)).isFile()).toBe(true);
  });

  it('ends when aborted while nothing happens', async () => {
    const stop = new AbortController();
    const following = (async () => {
      const seen: AuditEvent[] = [];
      for await (const e of followAudit(path, { signal: stop.signal, pollMs: 60_000 })) seen.push(e);
      return seen;
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    stop.abort();
    expect(await following).toEqual([]);
  });

  it('starts over when the live file is replaced by a shorter one', async () => {
    const log = new AuditLog({ path });
    for (let i = 0; i < 5; i += 1) await log.append(event(i));
    const stop = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const e of followAudit(path, { signal: stop.signal, pollMs: 10 })) {
        seen.push(e.duration_ms);
        if (seen.length === 1) stop.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Moved aside by hand (not a rotation name), then a fresh log begins.
    await rename(path, join(dir, 'home', 'archived.jsonl'));
    await log.append(event(100));
    await following;
    expect(seen).toEqual([100]);
  });
});
