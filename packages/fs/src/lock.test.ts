import { spawn } from 'node:child_process';
import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock, withFileLockNow } from './lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentsecrets-fs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The directory's files but this process's owner files (see withFileLock), which stay while the process lives. */
async function files(): Promise<string[]> {
  return (await readdir(dir)).filter((name) => !name.includes(`.${process.pid}.`)).sort();
}

/** The pid of a process that has exited, so it is certainly not running now (unless the pid is reused at once). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}

describe('withFileLock', () => {
  it('runs the body holding the lock, and removes the lock afterwards, also when the body throws', async () => {
    const lock = join(dir, 'v.lock');
    const seen = await withFileLock(lock, { timeoutMs: 1000 }, async () => readdir(dir));
    expect(seen.filter((n) => !n.includes(`.${process.pid}.`))).toEqual(['v.lock']);
    expect(await files()).toEqual([]);
    await expect(
      withFileLock(lock, { timeoutMs: 1000 }, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await files()).toEqual([]);
  });

  it('serialises bodies in one process: no two run at once', async () => {
    const lock = join(dir, 'v.lock');
    let inside = 0;
    let overlap = false;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withFileLock(lock, { timeoutMs: 5000 }, async () => {
          inside += 1;
          if (inside > 1) overlap = true;
          await new Promise((resolve) => setImmediate(resolve));
          inside -= 1;
        }),
      ),
    );
    expect(overlap).toBe(false);
  });

  it('takes over a lock left by a process that is no longer running', async () => {
    const lock = join(dir, 'v.lock');
    await writeFile(lock, JSON.stringify({ pid: await deadPid(), host: hostname(), nonce: 'old' }));
    expect(await withFileLock(lock, { timeoutMs: 0 }, async () => 'ran')).toBe('ran');
    expect(await files()).toEqual([]);
  });

  it('takes over a lock naming this pid but not held by this process (a pid reused after a crash)', async () => {
    const lock = join(dir, 'v.lock');
    await writeFile(
      lock,
      JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'from-an-earlier-run' }),
    );
    expect(await withFileLock(lock, { timeoutMs: 0 }, async () => 'ran')).toBe('ran');
  });

  it('waits for a live holder, then gives up with FILE_BUSY naming its pid', async () => {
    const lock = join(dir, 'v.lock');
    await writeFile(lock, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'live' }));
    let ran = false;
    await expect(
      withFileLock(lock, { timeoutMs: 50 }, async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({
      code: 'FILE_BUSY',
      message: expect.stringContaining(`process ${process.ppid}`),
    });
    expect(ran).toBe(false);
    // The live holder's lock is left alone.
    expect(await files()).toEqual(['v.lock']);
  });

  it('takes over a lock with no owner in it (a writer killed mid-create) at once, not after the stale age', async () => {
    const lock = join(dir, 'v.lock');
    await writeFile(lock, '');
    const started = Date.now();
    expect(await withFileLock(lock, { timeoutMs: 10_000, staleMs: 60_000 }, async () => 'ran')).toBe('ran');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('treats a lock from another host as live while fresh, and as abandoned once old', async () => {
    const lock = join(dir, 'v.lock');
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'another-host', nonce: 'far' }));
    await expect(
      withFileLock(lock, { timeoutMs: 20, staleMs: 60_000 }, async () => 'ran'),
    ).rejects.toMatchObject({
      code: 'FILE_BUSY',
    });
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    expect(await withFileLock(lock, { timeoutMs: 0, staleMs: 60_000 }, async () => 'ran')).toBe('ran');
  });

  it('never shows an empty lock: the owner is in the lock file from the moment it exists', async () => {
    const lock = join(dir, 'v.lock');
    // A thread of its own reads the lock in a tight loop, at the same time as it is created and removed.
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const watcher = new Worker(
      `const { readFileSync } = require('node:fs');
      const { workerData, parentPort } = require('node:worker_threads');
      const seen = new Set();
      while (Atomics.load(workerData.stop, 0) === 0) {
        try { seen.add(readFileSync(workerData.lock, 'utf8')); } catch {}
      }
      parentPort.postMessage([...seen]);`,
      { eval: true, workerData: { lock, stop } },
    );
    const seen = new Promise<string[]>((resolve, reject) => {
      watcher.once('message', resolve);
      watcher.once('error', reject);
    });
    await new Promise((resolve) => watcher.once('online', resolve));
    for (let i = 0; i < 200; i += 1) {
      // Every other body keeps the lock over a timer, so the watcher certainly finds it held, not only made.
      await withFileLock(lock, { timeoutMs: 1000 }, async () => {
        if (i % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      });
    }
    Atomics.store(stop, 0, 1);
    const texts = await seen;
    expect(texts.length).toBeGreaterThan(0);
    for (const text of texts) expect(JSON.parse(text)).toMatchObject({ pid: process.pid });
  });

  it('removes what killed lock takers left (owner files never linked, stale locks moved aside), not a live one', async () => {
    const lock = join(dir, 'v.lock');
    const dead = await deadPid();
    const leftovers = [`v.lock.${dead}.0123456789ab.tmp`, `v.lock.stale-${dead}-0123456789ab`];
    const live = `v.lock.${process.ppid}.0123456789ab.tmp`;
    for (const name of [...leftovers, live]) await writeFile(join(dir, name), '{}');
    await withFileLock(lock, { timeoutMs: 1000 }, async () => undefined);
    expect(await files()).toEqual([live]);
  });

  it('keeps one owner file per lock while the process lives, linked as the lock each time, and removes it at exit', async () => {
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      const { withFileLock } = await import(${JSON.stringify(dist)});
      const { readdirSync, statSync } = await import('node:fs');
      const lock = ${JSON.stringify(join(dir, 'v.lock'))};
      const inodes = [];
      for (let i = 0; i < 3; i += 1)
        await withFileLock(lock, { timeoutMs: 1000 }, async () => inodes.push(statSync(lock).ino));
      console.log(JSON.stringify({ inodes, files: readdirSync(${JSON.stringify(dir)}) }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const seen = JSON.parse(out) as { inodes: number[]; files: string[] };
    expect(new Set(seen.inodes).size).toBe(1);
    expect(seen.files).toEqual([
      expect.stringMatching(new RegExp(`^v\\.lock\\.${child.pid}\\.[0-9a-f]{12}\\.tmp$`)),
    ]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('dates the lock at each acquisition: another host judges its age from then, not from when the process began', async () => {
    const lock = join(dir, 'v.lock');
    await withFileLock(lock, { timeoutMs: 1000 }, async () => undefined);
    const [owner] = (await readdir(dir)).filter((name) => name.includes(`.${process.pid}.`));
    const old = new Date(Date.now() - 3_600_000);
    await utimes(join(dir, owner!), old, old);
    const age = await withFileLock(
      lock,
      { timeoutMs: 1000 },
      async () => Date.now() - (await stat(lock)).mtimeMs,
    );
    expect(age).toBeLessThan(5_000);
  });

  it('writes its owner file again when someone removed it', async () => {
    const lock = join(dir, 'v.lock');
    await withFileLock(lock, { timeoutMs: 1000 }, async () => undefined);
    for (const name of await readdir(dir)) await rm(join(dir, name));
    expect(await withFileLock(lock, { timeoutMs: 1000 }, async () => readFile(lock, 'utf8'))).toContain(
      `"pid":${process.pid}`,
    );
    expect(await files()).toEqual([]);
  });

  it('is one lock for two spellings of its path in one process: neither takes the other for a leftover', async () => {
    const lock = join(dir, 'v.lock');
    let inside = 0;
    let overlap = false;
    const body = async (): Promise<void> => {
      inside += 1;
      if (inside > 1) overlap = true;
      await new Promise((resolve) => setTimeout(resolve, 50));
      inside -= 1;
    };
    await Promise.all([
      withFileLock(lock, { timeoutMs: 5000 }, body),
      withFileLock(`${dir}/./v.lock`, { timeoutMs: 5000 }, body),
    ]);
    expect(overlap).toBe(false);
  });

  it('lets the body check it still holds the lock before committing', async () => {
    const lock = join(dir, 'v.lock');
    await expect(
      withFileLock(lock, { timeoutMs: 1000 }, async (assertHeld) => {
        await assertHeld();
        // Someone wrongly judged us stale and took over: moved our lock aside and made their own.
        await rename(lock, `${lock}.aside`);
        await writeFile(lock, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'thief' }));
        await rm(`${lock}.aside`);
        await assertHeld();
      }),
    ).rejects.toMatchObject({ code: 'FILE_BUSY' });
    // Releasing does not remove a lock that is not ours.
    expect(await files()).toEqual(['v.lock']);
  });
});

describe('withFileLockNow', () => {
  /** The turn in which withFileLock's bookkeeping of a finished body is done. */
  const settled = () => new Promise((resolve) => setImmediate(resolve));

  /** A lock this process has taken once (so no look for leftovers is due for a second). */
  async function swept(): Promise<string> {
    const lock = join(dir, 'v.lock');
    await withFileLock(lock, { timeoutMs: 1000 }, async () => undefined);
    await settled();
    return lock;
  }

  it('runs the body at once under the lock and removes it afterwards, also when the body throws', async () => {
    const lock = await swept();
    // Read inside the body, synchronously: the body runs and the lock is released before anything awaits.
    const seen = withFileLockNow(lock, () => readdirSync(dir).filter((n) => !n.includes(`.${process.pid}.`)));
    expect(seen?.value).toEqual(['v.lock']);
    expect(await files()).toEqual([]);
    expect(() =>
      withFileLockNow(lock, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(await files()).toEqual([]);
  });

  it('runs nothing when the lock would take a wait or a look: held by a live process, held in this one, or not swept yet', async () => {
    let ran = 0;
    const body = () => {
      ran += 1;
    };
    expect(withFileLockNow(join(dir, 'fresh.lock'), body)).toBeUndefined();
    const lock = await swept();
    await writeFile(lock, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'live' }));
    expect(withFileLockNow(lock, body)).toBeUndefined();
    expect(await files()).toEqual(['v.lock']);
    await rm(lock);
    let inside: unknown;
    await withFileLock(lock, { timeoutMs: 1000 }, async () => {
      inside = withFileLockNow(lock, body);
    });
    expect(inside).toBeUndefined();
    expect(ran).toBe(0);
    await settled();
    expect(withFileLockNow(lock, body)).toEqual({ value: undefined });
    expect(ran).toBe(1);
  });

  it('lets the body check it still holds the lock', async () => {
    const lock = await swept();
    expect(() =>
      withFileLockNow(lock, (assertHeld) => {
        assertHeld();
        renameSync(lock, `${lock}.aside`);
        writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'thief' }));
        rmSync(`${lock}.aside`);
        assertHeld();
      }),
    ).toThrow(expect.objectContaining({ code: 'FILE_BUSY' }));
    expect(await files()).toEqual(['v.lock']);
  });
});
