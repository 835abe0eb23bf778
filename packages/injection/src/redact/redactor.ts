// Over 400 lines: the streaming redactor's hold-back window, release rule and chunk boundaries are one invariant;
// split across files, its pieces could no longer be read against each other. The patterns are in forms.ts and the
// matcher in automaton.ts.
import { Transform, type TransformCallback } from 'node:stream';
import { Automaton } from './automaton.js';
import {
  BARRIER_CONTEXT,
  isBarrier,
  MIN_REDACTABLE_LENGTH,
  REDACTION_MARKER,
  redactionPatterns,
} from './forms.js';
import { Scanner } from './scanner.js';

/** A secret as the redactor takes it; `SecretValue` from `@agentsecrets/keychain` satisfies this. */
export interface RedactableSecret {
  readonly name: string;
  bytes(): Buffer;
}

/** A redacting Transform (see {@link Redactor.createStream}); `count` is how many matches it has replaced so far. */
export interface RedactingStream extends Transform {
  readonly count: number;
}

/**
 * When a stream lets bytes go (see {@link Redactor.createStream}). None of it depends on what the bytes are, only
 * on where line breaks stand, how much has arrived and when.
 */
export interface ReleaseRule {
  /** Bytes held longer than this are let go, all but the last {@link tailBytes}. Default 100 ms. */
  readonly holdMs: number;
  /** What stays held however long it waits, until more arrives or the stream ends. Default 256 bytes. */
  readonly tailBytes: number;
  /** Bytes this far behind the newest are let go whatever their age. Default 64 KiB. */
  readonly windowBytes: number;
}

/** The engine's rule: a pause lets go of all but the last 256 bytes after 100 ms; a line ending lets go at once. */
export const DEFAULT_RELEASE: ReleaseRule = { holdMs: 100, tailBytes: 256, windowBytes: 64 * 1024 };

const MARKER = Buffer.from(REDACTION_MARKER, 'utf8');
/** How much of the next chunk is copied to settle a held tail (a partial match longer than this falls back to a copy). */
const BRIDGE = 512;
/**
 * A chunk up to this long is scanned with the held bytes in one copy: cheaper than two scans (a socket's reads end
 * in short pieces where the sender's writes were cut).
 */
const COPIED = 8 * 1024;
const LF = 0x0a;
/** A piece of a chunk this long goes out as a view of it; shorter pieces in a row are joined into one buffer. */
const UNCOPIED = 4096;

/**
 * How a header string maps to the bytes it stands for: latin1 (a header is bytes, and HTTP parsers give each as one
 * character), or UTF-8 for a string holding a character no single byte can be (not from a parser).
 */
function headerEncoding(text: string): BufferEncoding {
  return /[\u0100-\uffff]/.test(text) ? 'utf8' : 'latin1';
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Sorts `start, end` pairs and merges the overlapping ones: the spans to replace. */
function union(found: readonly number[], into: number[] = []): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < found.length; i += 2) pairs.push([found[i]!, found[i + 1]!]);
  for (let i = 0; i < into.length; i += 2) pairs.push([into[i]!, into[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: number[] = [];
  for (const [start, end] of pairs) {
    const last = out.length - 1;
    if (last > 0 && start < out[last]!) out[last] = Math.max(out[last]!, end);
    else out.push(start, end);
  }
  return out;
}

/** `data` with each span of `spans` (sorted, disjoint, inside it) replaced by the marker. */
function assemble(data: Buffer, spans: readonly number[]): Buffer {
  if (spans.length === 0) return data;
  const pieces: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < spans.length; i += 2) {
    pieces.push(data.subarray(at, spans[i]!), MARKER);
    at = spans[i + 1]!;
  }
  pieces.push(data.subarray(at));
  return Buffer.concat(pieces);
}

/**
 * What one release pushes: the kept chunks' bytes as views (a piece of at least {@link UNCOPIED} bytes is never
 * copied), with markers in place of spans, and each run of shorter pieces joined into one buffer. So where the
 * output is cut depends only on where the input was cut, where the release ends and where markers stand.
 */
class Output {
  readonly #stream: Transform;
  readonly #chunks: readonly Buffer[];
  /** The chunk that holds the next bytes, and its offset. */
  #index = 0;
  #at: number;
  #small: Buffer[] = [];

  constructor(stream: Transform, chunks: readonly Buffer[], chunksFrom: number) {
    this.#stream = stream;
    this.#chunks = chunks;
    this.#at = chunksFrom;
  }

  /** The bytes from offset `from` to `to` (after those given before). */
  bytes(from: number, to: number): void {
    const chunks = this.#chunks;
    while (this.#at + chunks[this.#index]!.length <= from) this.#at += chunks[this.#index++]!.length;
    while (from < to) {
      const c = chunks[this.#index]!;
      const end = Math.min(to, this.#at + c.length);
      this.#piece(c.subarray(from - this.#at, end - this.#at));
      from = end;
      if (from === this.#at + c.length) this.#at += chunks[this.#index++]!.length;
    }
  }

  marker(): void {
    this.#small.push(MARKER);
  }

  end(): void {
    const small = this.#small;
    if (small.length > 0) this.#stream.push(small.length === 1 ? small[0]! : Buffer.concat(small));
    this.#small = [];
  }

  #piece(piece: Buffer): void {
    if (piece.length < UNCOPIED) {
      this.#small.push(piece);
      return;
    }
    this.end();
    this.#stream.push(piece);
  }
}

/**
 * The stream of {@link Redactor.createStream}. Offsets count from the start of the stream: `#received` bytes have
 * arrived, `#released` have been let go, and scanning goes on from `#scanFrom` (where a partial match or an
 * unfinished escape may begin). The chunks holding the bytes from the lower of the two are kept.
 */
class RedactionStream extends Transform implements RedactingStream {
  readonly #scanner: Scanner;
  readonly #rule: ReleaseRule;
  #chunks: Buffer[] = [];
  /** Offset of the first kept chunk. */
  #chunksFrom = 0;
  #scanFrom = 0;
  #released = 0;
  #received = 0;
  /** The last bytes received, to judge a line break at the start of the next chunk (see BARRIER_CONTEXT). */
  #last: Buffer = Buffer.alloc(0);
  /** Where the last barrier line break ends; bytes before it are let go as soon as they are scanned. */
  #barrierEnd = 0;
  /** Spans to replace that end after `#released`, sorted and disjoint. */
  #spans: number[] = [];
  /** The output so far ends inside a span whose marker is already out. */
  #inSpan = false;
  /** End offset and arrival time of each chunk that is still held in part. */
  #arrivals: { end: number; at: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #count = 0;

  constructor(scanner: Scanner, rule: ReleaseRule) {
    super();
    this.#scanner = scanner;
    this.#rule = rule;
  }

  get count(): number {
    return this.#count;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) {
      callback();
      return;
    }
    const previous = this.#received;
    this.#chunks.push(chunk);
    this.#received += chunk.length;
    this.#scanChunk(chunk, previous);
    this.#findBarrier(chunk, previous);
    // The break itself and the bytes it is judged by.
    this.#last =
      chunk.length > BARRIER_CONTEXT
        ? chunk.subarray(-BARRIER_CONTEXT - 1)
        : Buffer.concat([this.#last, chunk]).subarray(-BARRIER_CONTEXT - 1);
    this.#arrivals.push({ end: this.#received, at: performance.now() });
    this.#release(Math.max(this.#barrierEnd, this.#received - this.#rule.windowBytes));
    this.#arm();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const found: number[] = [];
    const context = Math.max(this.#chunksFrom, this.#scanFrom - BARRIER_CONTEXT);
    this.#scanner.scan(this.#slice(context, this.#received), true, found, this.#scanFrom - context);
    this.#addSpans(found, context);
    this.#release(this.#received);
    this.#disarm();
    callback();
  }

  override _read(size: number): void {
    // Room downstream again: bytes that waited out their time while it was full can go now.
    if (this.#timer === undefined && this.#received > this.#released) this.#releaseByAge();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Held bytes are dropped: a stream that fails mid-way gives what was let go, and nothing that depends on them.
    this.#disarm();
    this.#chunks = [];
    callback(error);
  }

  /** The bytes from offset `from` to `to`, both within the kept chunks (a view when they lie in one chunk). */
  #slice(from: number, to: number): Buffer {
    const pieces: Buffer[] = [];
    let at = this.#chunksFrom;
    for (const c of this.#chunks) {
      const end = at + c.length;
      if (end > from && at < to) pieces.push(c.subarray(Math.max(0, from - at), Math.min(c.length, to - at)));
      at = end;
      if (at >= to) break;
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /** Scans from `#scanFrom` through the new chunk, which begins at offset `previous`. */
  #scanChunk(chunk: Buffer, previous: number): void {
    const scanner = this.#scanner;
    let from = this.#scanFrom;
    if (chunk.length > COPIED) {
      // Settle the held bytes (and the context a line break at the start is judged by) against the start of the
      // chunk, copying only that much: scanning can restart at any settled position, so the rest of the chunk is
      // then scanned on its own, in place.
      const found: number[] = [];
      const context = Math.max(this.#chunksFrom, from - BARRIER_CONTEXT);
      const bridge = Buffer.concat([this.#slice(context, previous), chunk.subarray(0, BRIDGE)]);
      from = context + scanner.scan(bridge, false, found, from - context);
      this.#addSpans(found, context);
    }
    const context = Math.max(this.#chunksFrom, from - BARRIER_CONTEXT);
    const found: number[] = [];
    // A copy only when a partial match runs from the held bytes past the bridge, or for a small chunk.
    const settled =
      context >= previous
        ? context + scanner.scan(chunk.subarray(context - previous), false, found, from - context)
        : context + scanner.scan(this.#slice(context, this.#received), false, found, from - context);
    this.#addSpans(found, context);
    // A partial match longer than the window is given up (see ReleaseRule.windowBytes).
    this.#scanFrom = Math.max(settled, this.#received - this.#rule.windowBytes);
  }

  /** Adds the spans of a scan of the bytes from offset `base`, dropping what is already let go. */
  #addSpans(found: readonly number[], base: number): void {
    if (found.length === 0) return;
    const absolute = found.map((x) => x + base);
    const merged = union(absolute, this.#spans);
    const kept: number[] = [];
    for (let i = 0; i < merged.length; i += 2) {
      if (merged[i + 1]! > this.#released) kept.push(merged[i]!, merged[i + 1]!);
    }
    this.#spans = kept;
  }

  /** Moves `#barrierEnd` past the last line break that no match may span (see {@link isBarrier}). */
  #findBarrier(chunk: Buffer, previous: number): void {
    for (let i = chunk.lastIndexOf(LF); i >= BARRIER_CONTEXT; i = chunk.lastIndexOf(LF, i - 1)) {
      if (isBarrier(chunk, i) === true) {
        this.#barrierEnd = previous + i + 1;
        return;
      }
    }
    // Breaks near the chunk's start, and one that ended the previous chunk, are judged with the bytes before.
    const last = this.#last;
    const edge = Buffer.concat([last, chunk.subarray(0, BARRIER_CONTEXT + 1)]);
    for (
      let i = Math.min(edge.length - 1, last.length + BARRIER_CONTEXT - 1);
      i >= last.length - 1 && i >= 0;
      i -= 1
    ) {
      const offset = previous - last.length + i;
      if (offset < this.#barrierEnd) break;
      if (edge[i] === LF && isBarrier(edge, i) === true) {
        this.#barrierEnd = offset + 1;
        return;
      }
    }
  }

  /** Lets go of the bytes up to offset `to` (if not yet), with spans replaced by markers. */
  #release(to: number): void {
    if (to <= this.#released) return;
    const output = new Output(this, this.#chunks, this.#chunksFrom);
    let at = this.#released;
    const spans = this.#spans;
    let i = 0;
    while (i < spans.length && spans[i]! < to) {
      const start = Math.max(spans[i]!, at);
      const end = spans[i + 1]!;
      if (start > at) {
        output.bytes(at, start);
        this.#inSpan = false;
      }
      if (!this.#inSpan) {
        output.marker();
        this.#count += 1;
      }
      this.#inSpan = end > to;
      at = Math.min(end, to);
      if (end > to) break;
      i += 2;
    }
    if (at < to) {
      output.bytes(at, to);
      this.#inSpan = false;
    }
    output.end();
    if (i > 0) this.#spans = spans.slice(i);
    this.#released = to;
    this.#dropHeld(to);
  }

  /** Forgets the arrivals and chunks that hold nothing still needed once the bytes up to `to` are let go. */
  #dropHeld(to: number): void {
    while (this.#arrivals.length > 0 && this.#arrivals[0]!.end <= to) this.#arrivals.shift();
    // Drop the chunks that hold nothing still needed (a scan reads a few bytes before where it starts).
    const needed = Math.min(this.#scanFrom - BARRIER_CONTEXT, this.#released);
    while (this.#chunks.length > 0 && this.#chunksFrom + this.#chunks[0]!.length <= needed) {
      this.#chunksFrom += this.#chunks.shift()!.length;
    }
  }

  /** Lets go of what has waited out `holdMs`, all but the tail, if there is room downstream. */
  #releaseByAge(): void {
    this.#timer = undefined;
    if (this.readableLength >= this.readableHighWaterMark) return; // `_read` comes back here when there is room
    const old = performance.now() - this.#rule.holdMs;
    let upTo = this.#released;
    for (const a of this.#arrivals) if (a.at <= old) upTo = a.end;
    this.#release(Math.min(upTo, this.#received - this.#rule.tailBytes));
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    const next = this.#arrivals[0];
    if (next === undefined || this.#received - this.#rule.tailBytes <= this.#released) return;
    const wait = Math.max(0, next.at + this.#rule.holdMs - performance.now());
    this.#timer = setTimeout(() => this.#releaseByAge(), wait);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RedactingStream { count: ${this.#count} }`;
  }
}

/** The values to look for: each secret's, and the password half of one that reads as `user:password`. */
function valuesOf(secret: RedactableSecret): Buffer[] {
  const value = secret.bytes();
  const colon = value.indexOf(0x3a);
  const password = colon >= 0 ? value.subarray(colon + 1) : undefined;
  return password !== undefined && password.length >= MIN_REDACTABLE_LENGTH ? [value, password] : [value];
}

/**
 * Replaces every secret, wherever it reads as one in text, with `[REDACTED_BY_AGENTSECRETS]`: in whole buffers,
 * header strings, or a stream.
 *
 * - What is found: the value in either letter case, also with line breaks inside base64, and through any
 *   composition of up to three escapings — JSON strings (`\uXXXX` of any character too), URL and form encoding,
 *   HTML character references, base64 in either alphabet (see {@link redactionPatterns} and the scanner). The
 *   password half of a `user:password` value is a value of its own. Values shorter than
 *   {@link MIN_REDACTABLE_LENGTH} bytes are not redacted; their names are in `skipped`.
 * - Overlapping matches are replaced as one span, so no complete reading of any secret is left in the output. (The
 *   one exception is a value made of the marker's own text, such as `REDACTED_BY_AGENT`, which every marker then
 *   contains.)
 * - The automaton is built once per Redactor; each {@link Redactor.createStream} call has its own state.
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
  readonly #scanner: Scanner | undefined;
  readonly #size: number;
  /** Names of the secrets too short to redact (see {@link MIN_REDACTABLE_LENGTH}). */
  readonly skipped: readonly string[];

  constructor(secrets: Iterable<RedactableSecret>) {
    const skipped: string[] = [];
    const seen = new Set<string>();
    const patterns: Buffer[] = [];
    for (const secret of secrets) {
      const values = valuesOf(secret);
      if (values[0]!.length < MIN_REDACTABLE_LENGTH) {
        skipped.push(secret.name);
        continue;
      }
      for (const value of values) {
        for (const pattern of redactionPatterns(value)) {
          const key = pattern.toString('latin1');
          if (seen.has(key)) continue;
          seen.add(key);
          patterns.push(pattern);
        }
      }
    }
    this.skipped = Object.freeze(skipped);
    this.#size = patterns.length;
    this.#scanner = patterns.length === 0 ? undefined : new Scanner(new Automaton(patterns), patterns);
    // The patterns are our own copies; the automaton and the 4-gram filter keep only tables.
    for (const p of patterns) p.fill(0);
  }

  /** How many distinct patterns (secrets × their forms) are searched for. */
  get size(): number {
    return this.#size;
  }

  /** Redacts a whole buffer. `output` is `input` itself (as a Buffer) when nothing matched. */
  redactBuffer(input: Uint8Array): { output: Buffer; count: number } {
    const data = asBuffer(input);
    if (this.#scanner === undefined) return { output: data, count: 0 };
    const found: number[] = [];
    this.#scanner.scan(data, true, found);
    if (found.length === 0) return { output: data, count: 0 };
    const spans = union(found);
    return { output: assemble(data, spans), count: spans.length / 2 };
  }

  /** Redacts a string as its UTF-8 bytes (a response's headers: {@link redactHeaders}). */
  redactString(input: string): { output: string; count: number } {
    if (this.#scanner === undefined) return { output: input, count: 0 };
    const { output, count } = this.redactBuffer(Buffer.from(input, 'utf8'));
    return { output: count === 0 ? input : output.toString('utf8'), count };
  }

  /**
   * Redacts header values, and drops each header whose name holds a match (a name cannot carry a marker); `count`
   * counts both. Header text is read as the bytes it stands for: latin1, one character per byte, as HTTP parsers give
   * it and as Node writes it back (see {@link headerEncoding}). Names and values are first scanned together, joined by
   * NUL bytes (no header holds one), and each on its own only when that scan found something: a response with clean
   * headers costs one scan, not two per header.
   */
  redactHeaders(headers: Iterable<readonly [string, string | readonly string[]]>): {
    headers: [string, string][];
    count: number;
  } {
    const flat: [string, string][] = [];
    const names: string[] = [];
    for (const [name, value] of headers) {
      names.push(name);
      for (const v of typeof value === 'string' ? [value] : value) flat.push([name, v]);
    }
    const scanner = this.#scanner;
    if (scanner === undefined) return { headers: flat, count: 0 };
    const joined = [...names, ...flat.map(([, v]) => v)].join('\0');
    const found: number[] = [];
    scanner.scan(Buffer.from(joined, headerEncoding(joined)), true, found);
    if (found.length === 0) return { headers: flat, count: 0 };
    let count = 0;
    const dropped = new Set<string>();
    for (const name of names) {
      if (this.#redactHeaderText(name).count === 0) continue;
      count += 1;
      dropped.add(name);
    }
    const kept: [string, string][] = [];
    for (const [name, value] of flat) {
      if (dropped.has(name)) continue;
      const { output, count: n } = this.#redactHeaderText(value);
      count += n;
      kept.push([name, output]);
    }
    return { headers: kept, count };
  }

  #redactHeaderText(text: string): { output: string; count: number } {
    const encoding = headerEncoding(text);
    const { output, count } = this.redactBuffer(Buffer.from(text, encoding));
    return { output: count === 0 ? text : output.toString(encoding), count };
  }

  /**
   * A new redacting Transform with its own state. What it has let go at any moment depends only on where line
   * breaks stand, how many bytes have arrived and when — never on whether they match a secret — so holding back
   * cannot tell a client which bytes begin one. It lets go of:
   * - everything up to the last line break that no match may span (see {@link isBarrier}) as soon as it is scanned,
   *   so an SSE event or an NDJSON line goes out at once;
   * - bytes more than `windowBytes` behind the newest;
   * - after a pause of `holdMs` with room downstream, all but the last `tailBytes`;
   * - everything at the end. When the stream fails instead, the held bytes are dropped.
   * A match is replaced wherever it falls within what is held; one longer than `tailBytes` that arrives with a
   * pause of more than `holdMs` inside it may have its start let go before it is complete. Memory stays within
   * `windowBytes` plus a chunk.
   */
  createStream(rule: Partial<ReleaseRule> = {}): RedactingStream {
    const scanner = this.#scanner;
    if (scanner === undefined) {
      const passThrough = new Transform({
        transform(chunk: Buffer, _encoding, callback: TransformCallback) {
          callback(null, chunk);
        },
      });
      return Object.defineProperty(passThrough, 'count', { value: 0, enumerable: true }) as RedactingStream;
    }
    return new RedactionStream(scanner, { ...DEFAULT_RELEASE, ...rule });
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Redactor { patterns: ${this.#size}, skipped: ${JSON.stringify(this.skipped)} }`;
  }
}
