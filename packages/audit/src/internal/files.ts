import { hash } from 'node:crypto';
import { type FileHandle, readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { openRegular } from '@agentsecrets/fs';
import { ioError } from './io-errors.js';

/**
 * No line the writer produces comes near this (a full event is well under 16 KiB). A longer run of bytes without a
 * newline is not the log's — a hole, a corrupted region — and no reader buffers more than this looking for its end.
 */
export const MAX_LINE = 1024 * 1024;

const NEWLINE = 0x0a;

/** Bytes read by the tail readers, for the test that proves a large log is not read whole. */
export const ioStats = { bytesRead: 0 };

/** The hash chaining a line to the next one: sha256 of its exact bytes, newline excluded. */
export function lineHash(line: string | Uint8Array): string {
  return hash('sha256', line, 'hex');
}

/** Rotated files of a log, newest first: `audit.jsonl.1`, `audit.jsonl.2`, … */
export function rotatedPath(path: string, index: number): string {
  return `${path}.${index}`;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The rotation indexes present beside the log, ascending (newest first). Found by listing the directory rather than
 * by probing `.1`, `.2`, … until one is missing, so a deleted middle file leaves a gap the verifier reports instead of
 * hiding every older file.
 */
export async function rotatedIndexes(path: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw e;
  }
  const prefix = `${basename(path)}.`;
  const out: number[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const suffix = name.slice(prefix.length);
    if (/^[1-9][0-9]{0,5}$/.test(suffix)) out.push(Number(suffix));
  }
  return out.sort((a, b) => a - b);
}

/** The log's files from the oldest rotated one to the live one (which may not exist). */
export async function filesOldestFirst(path: string): Promise<string[]> {
  const indexes = await rotatedIndexes(path);
  return [...indexes.reverse().map((i) => rotatedPath(path, i)), path];
}

/**
 * Reads a file backwards in chunks and yields its non-empty lines, last first, as exact bytes. A trailing fragment
 * with no newline (a torn write) is yielded like any line; callers that parse it simply fail to. Reads only as far
 * as the caller consumes, and gives up at a run of more than {@link MAX_LINE} bytes with no newline, so the last
 * lines of a 1 GB log cost a few kilobytes and a damaged gigabyte is never scanned.
 */
export async function* linesBackwards(path: string, chunkSize = 64 * 1024): AsyncGenerator<Buffer> {
  let handle: FileHandle;
  try {
    handle = await openRegular(path);
  } catch (e) {
    if (errno(e) === 'ENOENT') return;
    throw ioError('read', path, e);
  }
  try {
    let position = (await handle.stat()).size;
    let rest = Buffer.alloc(0);
    while (position > 0) {
      const size = Math.min(chunkSize, position);
      position -= size;
      const chunk = Buffer.alloc(size);
      const { bytesRead } = await handle.read(chunk, 0, size, position);
      ioStats.bytesRead += bytesRead;
      const data = rest.length === 0 ? chunk : Buffer.concat([chunk, rest]);
      let end = data.length;
      // lastIndexOf with a negative offset counts from the end, hence the guard on `end`.
      let i = data.lastIndexOf(NEWLINE, end - 1);
      while (i >= 0) {
        if (i + 1 < end) yield data.subarray(i + 1, end);
        end = i;
        i = end > 0 ? data.lastIndexOf(NEWLINE, end - 1) : -1;
      }
      rest = Buffer.from(data.subarray(0, end));
      if (rest.length > MAX_LINE) return;
    }
    if (rest.length > 0) yield rest;
  } finally {
    await handle.close();
  }
}

/** The end of a file as the writer needs it: the exact bytes of its last line, and whether it ends in a newline. */
export interface Tail {
  /** The last line (without its newline), or undefined when the file is missing or empty. */
  readonly last: Buffer | undefined;
  /** True when the file has bytes after its last newline: a write was torn (a crash, a full disk). */
  readonly torn: boolean;
}

/**
 * Reads only the end of a file: the last line, found by reading backwards in small chunks. A last "line" longer than
 * {@link MAX_LINE} is damage, not the log's; its last {@link MAX_LINE} bytes stand in for it (the verifier reports
 * the damage at that line whatever the next line's `prev` says).
 */
export async function readTail(path: string, chunkSize = 8 * 1024): Promise<Tail> {
  let handle: FileHandle;
  try {
    handle = await openRegular(path);
  } catch (e) {
    if (errno(e) === 'ENOENT') return { last: undefined, torn: false };
    throw ioError('read', path, e);
  }
  try {
    const size = (await handle.stat()).size;
    if (size === 0) return { last: undefined, torn: false };
    const lastByte = Buffer.alloc(1);
    await handle.read(lastByte, 0, 1, size - 1);
    ioStats.bytesRead += 1;
    const torn = lastByte[0] !== NEWLINE;
    let position = torn ? size : size - 1;
    let line = Buffer.alloc(0);
    while (position > 0 && line.length <= MAX_LINE) {
      const n = Math.min(chunkSize, position);
      position -= n;
      const chunk = Buffer.alloc(n);
      await handle.read(chunk, 0, n, position);
      ioStats.bytesRead += n;
      const i = chunk.lastIndexOf(NEWLINE);
      if (i >= 0) return { last: Buffer.concat([chunk.subarray(i + 1), line]), torn };
      line = Buffer.concat([chunk, line]);
    }
    return { last: line.length > MAX_LINE ? line.subarray(line.length - MAX_LINE) : line, torn };
  } finally {
    await handle.close();
  }
}

/**
 * Splits a stream of byte chunks into lines (exact bytes, newline excluded). A run longer than {@link MAX_LINE}
 * without a newline sets `overlong` instead of being buffered further; what remains after the last newline is `rest`.
 */
export class LineSplitter {
  #pending: Buffer = Buffer.alloc(0);
  /** True once more than {@link MAX_LINE} bytes arrived without a newline. */
  overlong = false;

  #skipping = false;

  /** Feeds a chunk (which the splitter may keep: pass a buffer that is not reused); returns the lines it completes. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#skipping) {
      const end = data.indexOf(NEWLINE);
      if (end < 0) {
        this.#pending = Buffer.alloc(0);
        return out;
      }
      this.#skipping = false;
      data = data.subarray(end + 1);
    }
    let start = 0;
    for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, start)) {
      out.push(data.subarray(start, i));
      start = i + 1;
    }
    this.#pending = data.subarray(start);
    if (this.#pending.length > MAX_LINE) this.overlong = true;
    return out;
  }

  /** The bytes after the last newline seen. */
  get rest(): Buffer {
    return this.#pending;
  }

  /** Forgets a partial line (when a reader moves to another file or skips damage). */
  reset(): void {
    this.#pending = Buffer.alloc(0);
    this.overlong = false;
    this.#skipping = false;
  }

  /** Drops the overlong run and everything up to the next newline, then splits lines again. */
  skipLine(): void {
    this.reset();
    this.#skipping = true;
  }

  /** True while bytes are being dropped up to the next newline. */
  get skipping(): boolean {
    return this.#skipping;
  }
}
