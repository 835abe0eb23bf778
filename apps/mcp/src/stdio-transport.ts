import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC 2.0 error codes this transport answers with itself. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

/** Options of {@link LineTransport}. */
export interface LineTransportOptions {
  /** Longest line accepted, in bytes; a longer one is answered with an error and skipped. Default 10 MiB. */
  readonly maxLineBytes?: number;
}

/** The id of a request that failed validation, when it has a usable one (JSON-RPC: else null). */
function idOf(value: unknown): string | number | null {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
}

/**
 * MCP over stdio, one JSON-RPC message per line, that no input can end: a line that is not JSON is answered with a
 * parse error (-32700), JSON that is not a JSON-RPC message with an invalid-request error (-32600), and a line
 * longer than `maxLineBytes` with an invalid-request error while its bytes are dropped up to the next newline — in
 * each case the server keeps reading. (The SDK's stdio transport drops unparseable lines silently and closes on an
 * oversized one.) The end of stdin closes the transport at once, which aborts the requests in flight.
 */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #stdin: Readable;
  readonly #stdout: Writable;
  readonly #max: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #skipping = false;
  #closed = false;

  constructor(stdin: Readable, stdout: Writable, options: LineTransportOptions = {}) {
    this.#stdin = stdin;
    this.#stdout = stdout;
    this.#max = options.maxLineBytes ?? 10 * 1024 * 1024;
  }

  readonly #onData = (chunk: Buffer): void => {
    let rest = chunk;
    for (let nl = rest.indexOf(0x0a); nl >= 0; nl = rest.indexOf(0x0a)) {
      const piece = rest.subarray(0, nl);
      rest = rest.subarray(nl + 1);
      if (this.#skipping) {
        this.#skipping = false;
        continue;
      }
      if (this.#buffered + piece.length > this.#max) {
        this.#tooLong();
        this.#skipping = false;
        continue;
      }
      const line = Buffer.concat([...this.#chunks, piece]);
      this.#chunks = [];
      this.#buffered = 0;
      this.#line(line);
    }
    if (this.#skipping || rest.length === 0) return;
    if (this.#buffered + rest.length > this.#max) {
      this.#tooLong();
      return;
    }
    this.#chunks.push(Buffer.from(rest));
    this.#buffered += rest.length;
  };

  readonly #onEnd = (): void => {
    void this.close();
  };

  readonly #onError = (error: Error): void => {
    this.onerror?.(error);
    void this.close();
  };

  #tooLong(): void {
    this.#chunks = [];
    this.#buffered = 0;
    this.#skipping = true;
    this.#reply(null, INVALID_REQUEST, `message too large: a line may hold at most ${this.#max} bytes`);
  }

  #line(bytes: Buffer): void {
    const text = bytes.toString('utf8').replace(/\r$/, '');
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.#reply(null, PARSE_ERROR, 'Parse error: the line is not valid JSON');
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      this.#reply(idOf(value), INVALID_REQUEST, 'Invalid Request: not a JSON-RPC 2.0 message');
      return;
    }
    try {
      this.onmessage?.(parsed.data);
    } catch (e) {
      this.onerror?.(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #reply(id: string | number | null, code: number, message: string): void {
    if (this.#closed) return;
    this.#stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } })}\n`);
  }

  async start(): Promise<void> {
    this.#stdin.on('data', this.#onData);
    this.#stdin.on('end', this.#onEnd);
    this.#stdin.on('close', this.#onEnd);
    this.#stdin.on('error', this.#onError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.#stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.#stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stdin.off('data', this.#onData);
    this.#stdin.off('end', this.#onEnd);
    this.#stdin.off('close', this.#onEnd);
    this.#stdin.off('error', this.#onError);
    this.#stdin.pause();
    this.#chunks = [];
    this.onclose?.();
  }
}
