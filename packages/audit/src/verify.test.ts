import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEvent, AuditLog, type VerifyResult, verifyAuditLog } from './index.js';
import { eventId, serialize } from './log.js';
import { event, fileLines, tempLog } from './test/helpers.js';

let path: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path, cleanup } = await tempLog());
});
afterEach(() => cleanup());

let fresh = 0;

/** How the results of {@link tampered} name its file. */
const LOG = 'the tampered log';

/** Writes 10 events to a fresh log, rewrites its lines with `edit`, and verifies it (its file named {@link LOG}). */
async function tampered(edit: (lines: string[]) => string[]): Promise<VerifyResult> {
  fresh += 1;
  const file = join(dirname(path), `tampered-${fresh}`, 'audit.jsonl');
  const log = new AuditLog({ path: file });
  for (let i = 1; i <= 10; i += 1) await log.append(event(i));
  await writeFile(file, `${edit(await fileLines(file)).join('\n')}\n`);
  const { firstBad, ...result } = await verifyAuditLog(file);
  return firstBad === undefined
    ? result
    : { ...result, firstBad: { ...firstBad, file: firstBad.file.replace(file, LOG) } };
}

/** Line `i` (0-based) with a field changed and its id recomputed, in the writer's exact form. */
function forged(line: string, change: Partial<AuditEvent>): string {
  const { id: _, ...rest } = { ...(JSON.parse(line) as AuditEvent), ...change };
  return serialize({ ...rest, id: eventId(rest) } as AuditEvent);
}

describe('verifyAuditLog', () => {
  it('passes an intact log, and an empty or missing one', async () => {
    expect(await tampered((ls) => ls)).toEqual({ ok: true, lines: 10 });
    expect(await verifyAuditLog(path)).toEqual({ ok: true, lines: 0 });
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, '');
    expect(await verifyAuditLog(path)).toEqual({ ok: true, lines: 0 });
  });

  it('names an edited line', async () => {
    const result = await tampered((ls) => ls.map((l, i) => (i === 4 ? l.replace('"GET"', '"PUT"') : l)));
    expect(result.ok).toBe(false);
    expect(result.firstBad).toEqual({ file: LOG, line: 5, reason: expect.stringMatching(/edited/) });
  });

  it('names a line edited only in its bytes (spacing, escapes)', async () => {
    const spaced = await tampered((ls) =>
      ls.map((l, i) => (i === 2 ? l.replace('"method":', '"method": ') : l)),
    );
    expect(spaced.firstBad).toEqual({ file: LOG, line: 3, reason: expect.stringMatching(/edited/) });
    const escaped = await tampered((ls) =>
      ls.map((l, i) => (i === 6 ? l.replace('"GET"', '"\\u0047ET"') : l)),
    );
    expect(escaped.firstBad).toMatchObject({ line: 7, reason: expect.stringMatching(/edited/) });
  });

  it('names the line after one edited with its id recomputed, and says either may be the case', async () => {
    const result = await tampered((ls) => ls.map((l, i) => (i === 4 ? forged(l, { method: 'DELETE' }) : l)));
    expect(result.firstBad).toEqual({
      file: LOG,
      line: 6,
      reason: expect.stringMatching(/missing.*edited/),
    });
  });

  it('names the line after a deleted one', async () => {
    const result = await tampered((ls) => ls.filter((_, i) => i !== 3));
    expect(result.firstBad).toEqual({
      file: LOG,
      line: 4,
      reason: expect.stringMatching(/missing just before it/),
    });
  });

  it('names the first line out of place when two lines are swapped', async () => {
    const result = await tampered((ls) => [ls[0], ls[2], ls[1], ...ls.slice(3)] as string[]);
    expect(result.firstBad).toEqual({ file: LOG, line: 2, reason: expect.stringMatching(/reordered/) });
  });

  it('names a line moved up from further down, and a swap at the very end', async () => {
    const movedUp = await tampered(
      (ls) => [ls[0], ls[1], ls[7], ...ls.slice(2, 7), ...ls.slice(8)] as string[],
    );
    expect(movedUp.firstBad).toMatchObject({ line: 3, reason: expect.stringMatching(/reordered/) });
    const lastTwo = await tampered((ls) => [...ls.slice(0, 8), ls[9], ls[8]] as string[]);
    expect(lastTwo.firstBad).toMatchObject({ line: 9, reason: expect.stringMatching(/reordered/) });
  });

  it('names an inserted copy of an earlier line', async () => {
    const result = await tampered((ls) => [...ls.slice(0, 6), ls[2], ...ls.slice(6)] as string[]);
    expect(result.firstBad).toMatchObject({ line: 7, reason: expect.stringMatching(/inserted/) });
  });

  it('names the first line when the lines before it were removed', async () => {
    const result = await tampered((ls) => ls.slice(2));
    expect(result.firstBad).toEqual({ file: LOG, line: 1, reason: expect.stringMatching(/genesis/) });
  });

  it('names a line that is not JSON, and a truncated last line', async () => {
    const garbage = await tampered((ls) => ls.map((l, i) => (i === 7 ? l.slice(0, 40) : l)));
    expect(garbage.firstBad).toEqual({
      file: LOG,
      line: 8,
      reason: expect.stringMatching(/not valid JSON/),
    });
    const log = new AuditLog({ path });
    await log.append(event(99));
    const lines = await fileLines(path);
    await writeFile(path, `${lines.join('\n')}`.slice(0, -20)); // no final newline, last line cut
    // The last bytes of the log cut mid-line: a torn write (or a truncation, which no chain can show), not an edit.
    expect(await verifyAuditLog(path)).toEqual({
      ok: true,
      lines: lines.length,
      torn: [{ file: path, line: lines.length, reason: expect.stringMatching(/incomplete/) }],
    });
  });

  it('names a smuggled field without quoting it', async () => {
    const canary = 'sk_live_VERIFY_CANARY_98765';
    const result = await tampered((ls) =>
      ls.map((l, i) => (i === 1 ? l.replace('"redacted":false', `"redacted":false,"value":"${canary}"`) : l)),
    );
    expect(result.firstBad).toEqual({
      file: LOG,
      line: 2,
      reason: expect.stringMatching(/unknown field value/),
    });
    expect(JSON.stringify(result)).not.toContain(canary);
  });

  it('follows the chain across rotated files and names a removed middle file', async () => {
    const log = new AuditLog({ path, maxBytes: 1200, maxFiles: 20 });
    for (let i = 0; i < 40; i += 1) await log.append(event(i));
    const intact = await verifyAuditLog(path);
    expect(intact).toEqual({ ok: true, lines: 40 });
    await rm(`${path}.2`);
    const result = await verifyAuditLog(path);
    expect(result.firstBad).toEqual({ file: `${path}.1`, line: 1, reason: expect.stringMatching(/missing/) });
  });

  it('names an edited line in a rotated file by that file', async () => {
    const log = new AuditLog({ path, maxBytes: 1200, maxFiles: 20 });
    for (let i = 0; i < 40; i += 1) await log.append(event(i));
    const file = `${path}.3`;
    const lines = await fileLines(file);
    await writeFile(
      file,
      `${lines.map((l, i) => (i === 1 ? l.replace('"bearer"', '"basic"') : l)).join('\n')}\n`,
    );
    expect((await verifyAuditLog(path)).firstBad).toEqual({
      file,
      line: 2,
      reason: expect.stringMatching(/edited/),
    });
  });
});

describe('verifyAuditLog past damage', () => {
  it('keeps checking past a torn line: a later deletion and a later edit are both reported', async () => {
    const log = new AuditLog({ path });
    for (let i = 1; i <= 5; i += 1) await log.append(event(i));
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, -25)); // a crash in the middle of line 5
    for (let i = 6; i <= 12; i += 1) await log.append(event(i));
    const lines = await fileLines(path);
    expect(lines).toHaveLength(12);
    // Line 8 deleted, line 11 (10 after the deletion) edited.
    const edited = lines.filter((_, i) => i !== 7).map((l, i) => (i === 9 ? l.replace('"GET"', '"PUT"') : l));
    await writeFile(path, `${edited.join('\n')}\n`);
    const result = await verifyAuditLog(path);
    expect(result.ok).toBe(false);
    expect(result.torn).toEqual([{ file: path, line: 5, reason: expect.stringMatching(/torn/) }]);
    expect(result.problems).toEqual([
      { file: path, line: 8, reason: expect.stringMatching(/missing just before it/) },
      { file: path, line: 10, reason: expect.stringMatching(/edited/) },
    ]);
    expect(result.firstBad).toEqual(result.problems?.[0]);
  });

  it('reports a line that is not JSON but is not a torn write (the next line does not chain to it)', async () => {
    const result = await tampered((ls) => ls.map((l, i) => (i === 3 ? l.slice(0, 50) : l)));
    expect(result.ok).toBe(false);
    expect(result.firstBad).toEqual({ file: LOG, line: 4, reason: expect.stringMatching(/not valid JSON/) });
    expect(result.problems).toHaveLength(1);
  });

  it('skips a run too long to be a line and goes on checking after it', async () => {
    const log = new AuditLog({ path });
    for (let i = 1; i <= 4; i += 1) await log.append(event(i));
    const lines = await fileLines(path);
    const junk = 'x'.repeat(2 * 1024 * 1024);
    const after = lines.map((l, i) => (i === 3 ? l.replace('"GET"', '"PUT"') : l));
    await writeFile(path, `${after.slice(0, 2).join('\n')}\n${junk}\n${after.slice(2).join('\n')}\n`);
    const result = await verifyAuditLog(path);
    expect(result.problems).toEqual([
      { file: path, line: 3, reason: expect.stringMatching(/no newline/) },
      { file: path, line: 5, reason: expect.stringMatching(/edited/) },
    ]);
  });
});

describe('retention and what the verifier can still vouch for', () => {
  it('names what retention removed, and when, instead of calling the log simply intact', async () => {
    const log = new AuditLog({ path, maxBytes: 1200, maxFiles: 2, keepMs: 0 });
    for (let i = 0; i < 40; i += 1) await log.append(event(i));
    const result = await verifyAuditLog(path);
    expect(result.ok).toBe(true);
    expect(result.anchored).toBe(true);
    expect(result.unverifiable).toEqual({
      before: expect.stringMatching(/^\d{4}-/),
      recorded: true,
      removedFiles: expect.any(Number),
      lastRemovedAt: expect.stringMatching(/^\d{4}-/),
      capped: false,
    });
    expect(result.unverifiable?.removedFiles).toBeGreaterThan(0);
  });

  it('reports an oldest file deleted by something other than retention', async () => {
    const log = new AuditLog({ path, maxBytes: 1200, maxFiles: 3, keepMs: 0 });
    for (let i = 0; i < 40; i += 1) await log.append(event(i));
    expect((await verifyAuditLog(path)).ok).toBe(true);
    await rm(`${path}.3`);
    const result = await verifyAuditLog(path);
    expect(result.ok).toBe(false);
    expect(result.firstBad).toEqual({
      file: `${path}.2`,
      line: 1,
      reason: expect.stringMatching(/deleted by something else/),
    });
  });

  it('keeps young rotated files past maxFiles; only the hard cap removes them, and says so', async () => {
    const young = new AuditLog({ path, maxBytes: 1200, maxFiles: 2, hardMaxFiles: 12 });
    for (let i = 0; i < 30; i += 1)
      await young.append(event(i, { status: 'OK', reason: null, http_status: 200 }));
    const files = (await readdir(dirname(path))).filter((f) => /^audit\.jsonl\.\d+$/.test(f));
    expect(files.length).toBeGreaterThan(2);
    expect((await verifyAuditLog(path)).unverifiable).toBeUndefined();
    for (let i = 30; i < 120; i += 1)
      await young.append(event(i, { status: 'OK', reason: null, http_status: 200 }));
    const result = await verifyAuditLog(path);
    expect(result.ok).toBe(true);
    expect(result.unverifiable).toMatchObject({ recorded: true, capped: true });
  });
});
