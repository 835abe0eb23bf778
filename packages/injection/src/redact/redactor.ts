import { Transform, type TransformCallback } from 'node:stream';
import { Automaton } from './automaton.js';
import { encodedForms, MIN_REDACTABLE_LENGTH, REDACTION_MARKER } from './forms.js';

/** A secret as the redactor takes it; `SecretValue` from `@agentsecrets/keychain` satisfies this. */
export interface RedactableSecret {
  readonly name: string;
  bytes(): Buffer;
}

/** A redacting Transform (see {@link Redactor.createStream}); `count` is how many matches it has replaced so far. */
export interface RedactingStream extends Transform {
  readonly count: number;
}

const MARKER = Buffer.from(REDACTION_MARKER, 'utf8');
/** How much of the next chunk is copied to settle a held tail (a partial match longer than this falls back to a copy). */
const BRIDGE = 512;

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** `data[0, end)` with each found `start, end` pair replaced by the marker. */
function assemble(data: Buffer, found: readonly number[], end: number): Buffer {
  if (found.length === 0) return end === data.length ? data : data.subarray(0, end);
  const pieces: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < found.length; i += 2) {
    pieces.push(data.subarray(at, found[i]!), MARKER);
    at = found[i + 1]!;
  }
  pieces.push(data.subarray(at, end));
  return Buffer.concat(pieces);
}

class RedactionStream extends Transform implements RedactingStream {
  readonly #automaton: Automaton;
  #tail: Buffer | undefined;
  #count = 0;

  constructor(automaton: Automaton) {
    super();
    this.#automaton = automaton;
  }

  get count(): number {
    return this.#count;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let data = chunk;
    const tail = this.#tail;
    if (tail !== undefined) {
      this.#tail = undefined;
      // Settle the held bytes against the start of the chunk without copying the whole chunk: scanning can restart
      // from the root at any settled position, so the rest of the chunk is then scanned on its own.
      const head = chunk.subarray(0, BRIDGE);
      const bridge = Buffer.concat([tail, head]);
      const settled = this.#emit(bridge, false);
      if (head.length === chunk.length) {
        callback();
        return;
      }
      data =
        settled >= tail.length
          ? chunk.subarray(settled - tail.length)
          : Buffer.concat([bridge.subarray(settled), chunk.subarray(BRIDGE)]);
    }
    this.#emit(data, false);
    callback();
  }

  /** Scans `data`, pushes what is settled (redacted) and keeps the rest as the tail; returns the settled length. */
  #emit(data: Buffer, final: boolean): number {
    const found: number[] = [];
    const settled = this.#automaton.scan(data, final, found);
    this.#count += found.length / 2;
    if (settled > 0) this.push(assemble(data, found, settled));
    // Copied: the held bytes are few (a partial match) and the source may reuse its chunk.
    this.#tail = settled < data.length ? Buffer.from(data.subarray(settled)) : undefined;
    return settled;
  }

  override _flush(callback: TransformCallback): void {
    const tail = this.#tail;
    if (tail !== undefined) this.#emit(tail, true);
    callback();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RedactingStream { count: ${this.#count} }`;
  }
}

/**
 * Replaces every secret — raw and in each of its encoded forms (see {@link encodedForms}) — with
 * `[REDACTED_BY_AGENTSECRETS]`, in whole buffers, header strings, or a stream.
 *
 * - Values shorter than {@link MIN_REDACTABLE_LENGTH} bytes are not redacted; their names are in `skipped`.
 * - Overlapping matches resolve leftmost-longest: of the matches that start earliest, the longest is replaced, and
 *   the scan resumes after it. Any other occurrence overlapping it loses at least one byte to the marker, so no
 *   complete form of any secret is left in the output. (The one exception is a value made of the marker's own text,
 *   such as `REDACTED_BY_AGENT`, which every marker then contains.)
 * - The automaton is built once per Redactor (about a millisecond for 20 secrets); each
 *   {@link Redactor.createStream} call has its own state.
 * - Nothing here can print a value: the patterns exist only inside a private automaton, the copies made to build it
 *   are zeroed, and `util.inspect` shows the pattern count and the skipped names.
 *
 * @example
 * ```ts
 * const redactor = new Redactor(projectSecrets); // SecretValue[]
 * await pipeline(upstreamBody, redactor.createStream(), res);
 * const { output: location } = redactor.redactString(headers.location);
 * ```
 */
export class Redactor {
  readonly #automaton: Automaton | undefined;
  readonly #size: number;
  /** Names of the secrets too short to redact (see {@link MIN_REDACTABLE_LENGTH}). */
  readonly skipped: readonly string[];

  constructor(secrets: Iterable<RedactableSecret>) {
    const skipped: string[] = [];
    const seen = new Set<string>();
    const patterns: Buffer[] = [];
    for (const secret of secrets) {
      const value = secret.bytes();
      if (value.length < MIN_REDACTABLE_LENGTH) {
        skipped.push(secret.name);
        continue;
      }
      for (const form of encodedForms(value)) {
        const key = form.toString('latin1');
        if (seen.has(key)) continue;
        seen.add(key);
        patterns.push(form);
      }
    }
    this.skipped = Object.freeze(skipped);
    this.#size = patterns.length;
    this.#automaton = patterns.length === 0 ? undefined : new Automaton(patterns);
    // The forms are our own copies; the automaton keeps only its transition table.
    for (const p of patterns) p.fill(0);
  }

  /** How many distinct patterns (secrets × their forms) are searched for. */
  get size(): number {
    return this.#size;
  }

  /** Redacts a whole buffer. `output` is `input` itself (as a Buffer) when nothing matched. */
  redactBuffer(input: Uint8Array): { output: Buffer; count: number } {
    const data = asBuffer(input);
    if (this.#automaton === undefined) return { output: data, count: 0 };
    const found: number[] = [];
    this.#automaton.scan(data, true, found);
    return { output: assemble(data, found, data.length), count: found.length / 2 };
  }

  /** Redacts a string, such as a header value, as its UTF-8 bytes. */
  redactString(input: string): { output: string; count: number } {
    if (this.#automaton === undefined) return { output: input, count: 0 };
    const { output, count } = this.redactBuffer(Buffer.from(input, 'utf8'));
    return { output: count === 0 ? input : output.toString('utf8'), count };
  }

  /**
   * A new redacting Transform with its own state. Bytes pass through as they arrive; at a chunk boundary only the
   * bytes that are a prefix of some pattern (the automaton's current match depth, less than the longest form) are
   * held back until the next chunk or the end, so memory stays flat whatever the body size, and an SSE event ending
   * in `\n\n` goes out at once. A match split across any number of chunks is still replaced.
   */
  createStream(): RedactingStream {
    const automaton = this.#automaton;
    if (automaton === undefined) {
      const passThrough = new Transform({
        transform(chunk: Buffer, _encoding, callback: TransformCallback) {
          callback(null, chunk);
        },
      });
      return Object.defineProperty(passThrough, 'count', { value: 0, enumerable: true }) as RedactingStream;
    }
    return new RedactionStream(automaton);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Redactor { patterns: ${this.#size}, skipped: ${JSON.stringify(this.skipped)} }`;
  }
}
