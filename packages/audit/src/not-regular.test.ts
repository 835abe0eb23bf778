// Something other than a regular file where the log's files belong (any process of the user can put it there): the
// writer refuses at once and names why, keeps the event owed, and writes it once the file is back; the readers and
// the verifier fail with AUDIT_IO rather than wait for a FIFO's other end.
import { execFileSync } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, readLast, verifyAuditLog } from './index.js';
import { event, fileLines, tempLog } from './test/helpers.js';

let path: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path, cleanup } = await tempLog());
});
afterEach(() => cleanup());

const fifo = (at: string) => execFileSync('mkfifo', [at]);
const NOT_REGULAR = expect.stringContaining('(not a regular file)');

describe('a FIFO where the log belongs', () => {
  it('at the live file: the append is refused at once, the event owed, and written once the file is back', async () => {
    const log = new AuditLog({ path, lockTimeoutMs: 200 });
    await log.append(event(1));
    await rename(path, `${path}.aside`);
    fifo(path);
    await expect(log.append(event(2))).rejects.toMatchObject({ code: 'AUDIT_IO', message: NOT_REGULAR });
    await expect(log.ready()).rejects.toMatchObject({ code: 'AUDIT_IO', message: NOT_REGULAR });
    await rm(path);
    await rename(`${path}.aside`, path);
    await log.ready();
    await log.append(event(3));
    expect((await fileLines(path)).map((line) => JSON.parse(line).duration_ms)).toEqual([1, 2, 3]);
    expect((await verifyAuditLog(path)).ok).toBe(true);
  });

  it('at the lock: the append is refused at once, naming the lock and why', async () => {
    const log = new AuditLog({ path, lockTimeoutMs: 10_000 });
    await log.append(event(1));
    fifo(`${path}.lock`);
    const started = Date.now();
    await expect(log.append(event(2))).rejects.toMatchObject({ code: 'AUDIT_IO', message: NOT_REGULAR });
    expect(Date.now() - started).toBeLessThan(5_000);
    await rm(`${path}.lock`);
    await log.ready();
    expect(await fileLines(path)).toHaveLength(2);
  });

  it('for the readers and the verifier: AUDIT_IO naming the file, not a wait or an internal error', async () => {
    await new AuditLog({ path }).append(event(1));
    await rm(path);
    fifo(path);
    await expect(readLast(path, 5)).rejects.toMatchObject({ code: 'AUDIT_IO', message: NOT_REGULAR });
    await expect(verifyAuditLog(path)).rejects.toMatchObject({ code: 'AUDIT_IO', message: NOT_REGULAR });
  });
});
