// Over 400 lines: one request's whole path — policy checks, injection, the outbound request, response decoding and
// redaction — in the order it happens, so a reader follows what a credential meets without jumping between files;
// the policy, spec and redaction rules themselves live in their own modules.
import type { EventEmitter } from 'node:events';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { AgentSecretsError, toAgentSecretsError } from '@agentsecrets/errors';
import { Agent, type Dispatcher } from 'undici';
import {
  type AllowlistEntry,
  type Binding,
  checkAllowlist,
  checkLiteral,
  checkPlacements,
  createGuardedLookup,
  type Destination,
  entryForHost,
  type LookupFunction,
  matchAllowlist,
  parseDestination,
  resolveAndCheck,
} from '../policy/index.js';
import type { Redactor } from '../redact/index.js';
import {
  applyInjections,
  type InjectableSecret,
  type OutboundRequest,
  secretNotFound,
} from '../spec/apply.js';
import { type InjectionSpec, type InjectionStyle, validateInjections } from '../spec/spec.js';
import { mapNetworkError } from './network-errors.js';

/** Where the engine reads policy from. Read on every call, so a policy change applies to the next request. */
export interface EnginePolicy {
  allowlist(): readonly AllowlistEntry[];
  bindings(secretName: string): readonly Binding[];
}

/** What the engine needs from the credential store; the core supplies it. */
export interface EngineSecrets {
  /**
   * Reads the named secrets; called only after policy has allowed the call. Throws SECRET_NOT_FOUND. Answers without
   * a promise when it need not wait (values kept and known to be current).
   */
  resolve(
    names: readonly string[],
  ): ReadonlyMap<string, InjectableSecret> | Promise<ReadonlyMap<string, InjectableSecret>>;
  /** Which of these names are secrets of the project, reading no value (asked when a call fails). */
  stored(names: readonly string[]): Promise<readonly string[]>;
  /** A redactor for every secret of the current project (the injected ones included). */
  redactor(injected: ReadonlyMap<string, InjectableSecret>): Promise<Redactor> | Redactor;
}

/** Timeouts in milliseconds; 0 disables one. */
export interface EngineTimeouts {
  /** To establish the connection (TCP and TLS). Default 10 s. */
  readonly connectMs: number;
  /** From sending the request to receiving all response headers. Default 30 s. */
  readonly headersMs: number;
  /** Longest silence between two pieces of the response body. Default 60 s (streams stay open while data flows). */
  readonly idleMs: number;
  /** Whole response body, from headers to end. Default 0: off, so long downloads and SSE streams work. */
  readonly bodyMs: number;
}

/** Options of {@link InjectionEngine}. */
export interface EngineOptions {
  readonly policy: EnginePolicy;
  readonly secrets: EngineSecrets;
  readonly timeouts?: Partial<EngineTimeouts>;
  /** Largest request body accepted, in bytes. Default 10 MiB. */
  readonly maxRequestBodyBytes?: number;
  /** DNS lookup used before connecting (tests use it to simulate names resolving anywhere). */
  readonly lookup?: LookupFunction;
  /** Extra TLS options for the outbound connections (e.g. a test CA). */
  readonly tls?: { readonly ca?: string | Buffer | readonly (string | Buffer)[] };
}

/** Request headers as given by a transport: a record or ordered pairs. */
export type HeadersInput =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | readonly [string, string][];

/** One call through the engine. */
export interface CallRequest {
  readonly url: string;
  readonly method?: string;
  readonly headers?: HeadersInput;
  readonly body?: Uint8Array | string | Readable | AsyncIterable<Uint8Array>;
  readonly injections: readonly InjectionSpec[];
  /**
   * Cancels the call: an AbortSignal, or an EventEmitter that emits `abort` and has `aborted` true from then on (as
   * undici takes; a server making one per request pays less for an emitter than for an AbortController's signal).
   */
  readonly signal?: AbortSignal | EventEmitter;
  /** Called exactly once when the call is over (refused, failed, or its body fully delivered). */
  readonly onOutcome?: (outcome: CallOutcome) => void;
}

/** How a call ended, by names and facts only: what the audit log records. */
export interface CallOutcome {
  readonly method: string;
  /** scheme://host[:port]/path, never a query or fragment; null when the URL could not be parsed. */
  readonly target: string | null;
  readonly secretKeys: readonly string[];
  readonly styles: readonly InjectionStyle[];
  readonly status: 'OK' | 'BLOCKED' | 'ERROR';
  /** The error code when not OK. */
  readonly reason: string | null;
  readonly httpStatus: number | null;
  readonly redacted: boolean;
  readonly durationMs: number;
  readonly error?: AgentSecretsError;
}

/** The upstream's answer, with every header scanned and the body redacted while it streams. */
export interface CallResponse {
  readonly status: number;
  /** Response headers, lowercase names, hop-by-hop and framing headers removed, values redacted. */
  readonly headers: readonly [string, string][];
  /** Redactions made in the headers. */
  readonly headerRedactions: number;
  /** The body, decompressed and redacted while streaming. Errors on it are AgentSecretsErrors. */
  readonly body: Readable;
  /** Redactions so far (headers and body). Final once `body` has ended. */
  readonly redactions: () => number;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'accept-encoding',
]);
const METHOD = /^[A-Z]{1,16}$/;
const DEFAULT_TIMEOUTS: EngineTimeouts = { connectMs: 10_000, headersMs: 30_000, idleMs: 60_000, bodyMs: 0 };
// An empty or cut-short body (a HEAD answer, a 304, a reset) decodes to what it holds instead of failing.
const gunzip = () => zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
const createZstd = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
/** Decoders of the codings a response may carry; zstd where this Node.js has it (22.15 and later). */
const DECODERS: Readonly<Record<string, (() => Transform) | undefined>> = {
  gzip: gunzip,
  'x-gzip': gunzip,
  deflate: () => zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  br: () => zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }),
  zstd: createZstd === undefined ? undefined : () => createZstd(),
};
/** More codings than this on one response are refused rather than unwrapped (a compression bomb's usual shape). */
const MAX_CODINGS = 4;

function listOf(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

/**
 * The decoders that turn the response body into what the redactor must read, in the order to apply them: transfer
 * codings other than the framing `chunked` (undone first: they were applied last), then content codings, each list
 * from its end. Undefined when one of them cannot be undone here: such a body is refused, never passed on unread.
 */
function decodersFor(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): (() => Transform)[] | undefined {
  const transfer = listOf(headers['transfer-encoding']).filter((c) => c !== 'chunked');
  const content = listOf(headers['content-encoding']);
  const codings = [...transfer.reverse(), ...content.reverse()];
  if (codings.length > MAX_CODINGS) return undefined;
  const decoders: (() => Transform)[] = [];
  for (const coding of codings) {
    const decoder = Object.hasOwn(DECODERS, coding) ? DECODERS[coding] : undefined;
    if (decoder === undefined) return undefined;
    decoders.push(decoder);
  }
  return decoders;
}

function normalizeHeaders(input: HeadersInput | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (input === undefined) return out;
  const pairs: Iterable<readonly [string, string | readonly string[] | undefined]> = Array.isArray(input)
    ? (input as readonly [string, string][])
    : Object.entries(input);
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower)) continue;
    for (const v of typeof value === 'string' ? [value] : value) out.push([name, v]);
  }
  return out;
}

async function readBody(body: CallRequest['body'], limit: number): Promise<Buffer | undefined> {
  if (body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    if (buf.length > limit) throw tooLarge(limit);
    return buf;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): AgentSecretsError {
  return new AgentSecretsError('REQUEST_TOO_LARGE', `the request body is larger than ${limit} bytes`, {
    hint: 'send a smaller body or raise maxRequestBodyBytes',
  });
}

function statusOf(error: AgentSecretsError): 'BLOCKED' | 'ERROR' {
  return error.kind === 'policy' ? 'BLOCKED' : 'ERROR';
}

/** Fails a response body that runs longer than a deadline (off by default: SSE streams may run for hours). */
function deadline(ms: number, origin: string): Transform {
  const stream = new Transform({
    transform: (chunk: Buffer, _enc, cb: TransformCallback) => cb(null, chunk),
    destroy(err, cb) {
      clearTimeout(timer);
      cb(err);
    },
    flush(cb) {
      clearTimeout(timer);
      cb();
    },
  });
  const timer = setTimeout(
    () =>
      stream.destroy(
        new AgentSecretsError(
          'UPSTREAM_TIMEOUT',
          `the response body from ${origin} took longer than ${ms} ms`,
          {
            hint: 'raise the body timeout for long downloads',
          },
        ),
      ),
    ms,
  );
  return stream;
}

/**
 * The injection engine: takes a request that names credentials, decides whether it may go, injects the values at
 * the last moment, sends it, and hands back a response that cannot carry a value. Every transport goes through it.
 *
 * Order of a call: parse the destination (userinfo refused) → allowlist → per-secret bindings and placements (where
 * in the request each secret may go: header styles unless its owner's binding names the field) → DNS resolution and
 * SSRF check → only then read the secrets → inject → connect (to the checked addresses only, re-checked at connect)
 * → stream the response through decompression and redaction. Redirects are never followed.
 */
export class InjectionEngine {
  readonly #options: EngineOptions;
  readonly #timeouts: EngineTimeouts;
  readonly #agent: Agent;
  readonly #maxBody: number;

  constructor(options: EngineOptions) {
    this.#options = options;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.#maxBody = options.maxRequestBodyBytes ?? 10 * 1024 * 1024;
    const lookup = createGuardedLookup(
      (hostname) => entryForHost(hostname, options.policy.allowlist()),
      options.lookup === undefined ? {} : { lookup: options.lookup },
    );
    this.#agent = new Agent({
      connect: {
        lookup: lookup as unknown as NonNullable<import('node:net').TcpNetConnectOpts['lookup']>,
        ...(this.#timeouts.connectMs > 0 ? { timeout: this.#timeouts.connectMs } : {}),
        ...(options.tls?.ca === undefined
          ? {}
          : { ca: options.tls.ca as string | Buffer | (string | Buffer)[] }),
      },
      headersTimeout: this.#timeouts.headersMs,
      bodyTimeout: this.#timeouts.idleMs,
      keepAliveTimeout: 10_000,
    });
  }

  /**
   * Sends one request with its credentials injected. Refusals and failures throw an {@link AgentSecretsError} (its
   * message never holds a value) after reporting the outcome.
   */
  async call(request: CallRequest): Promise<CallResponse> {
    const started = performance.now();
    const method = (request.method ?? 'GET').toUpperCase();
    let target: string | null = null;
    let keys: string[] = [];
    let styles: InjectionStyle[] = [];
    let reported = false;
    const report = (
      outcome: Omit<CallOutcome, 'method' | 'target' | 'secretKeys' | 'styles' | 'durationMs'>,
    ) => {
      if (reported) return;
      reported = true;
      request.onOutcome?.({
        method,
        target,
        secretKeys: keys,
        styles,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        ...outcome,
      });
    };
    try {
      const specs = validateInjections(request.injections);
      keys = [...new Set(specs.map((s) => s.key))];
      styles = [...new Set(specs.map((s) => s.style))];
      if (!METHOD.test(method)) {
        throw new AgentSecretsError(
          'INVALID_ARGUMENT',
          'the method must be an HTTP method name like GET or POST',
          {
            hint: 'pass -X GET, POST, PUT, PATCH, DELETE …',
          },
        );
      }
      const dest = parseDestination(request.url);
      target = dest.display;
      const entry = checkAllowlist(dest, this.#options.policy.allowlist());
      for (const key of keys) checkPlacements(key, this.#options.policy.bindings(key), dest, method, specs);
      // An IP literal is checked without a promise: the fewer turns before the request is sent, the sooner it goes.
      if (checkLiteral(dest, entry) === undefined) {
        await resolveAndCheck(
          dest,
          entry,
          this.#options.lookup === undefined ? {} : { lookup: this.#options.lookup },
        );
      }
      // Not awaited when answered at once: each turn before the request is sent is a turn it waits.
      const resolved = this.#options.secrets.resolve(keys);
      const secrets = resolved instanceof Promise ? await resolved : resolved;
      const response = await this.#send(dest, method, request, specs, secrets, report);
      return response;
    } catch (e) {
      let error = toAgentSecretsError(e);
      // A name that is not a secret of the project is neither quoted nor recorded: what was given where a name
      // belongs may be a value pasted by mistake. Asked only when a call fails, so no value is read for it.
      const stored =
        keys.length === 0 ? keys : await this.#options.secrets.stored(keys).catch(() => undefined);
      if (stored === undefined)
        keys = []; // the store cannot say (it failed too): no name is recorded, the error stands
      else if (stored.length < keys.length) {
        keys = [...stored];
        if (error.code !== 'SECRET_NOT_FOUND') error = secretNotFound();
      }
      report({ status: statusOf(error), reason: error.code, httpStatus: null, redacted: false, error });
      throw error;
    }
  }

  async #send(
    dest: Destination,
    method: string,
    request: CallRequest,
    specs: readonly InjectionSpec[],
    secrets: ReadonlyMap<string, InjectableSecret>,
    report: (o: Omit<CallOutcome, 'method' | 'target' | 'secretKeys' | 'styles' | 'durationMs'>) => void,
  ): Promise<CallResponse> {
    const needsBody = specs.some((s) => s.style === 'body' || s.style === 'form');
    const streamed =
      !needsBody &&
      request.body !== undefined &&
      typeof request.body !== 'string' &&
      !(request.body instanceof Uint8Array);
    const outbound: OutboundRequest = {
      url: dest.url,
      method,
      headers: normalizeHeaders(request.headers),
      body: streamed || request.body === undefined ? undefined : await readBody(request.body, this.#maxBody),
    };
    const { request: injected } = applyInjections(outbound, specs, secrets);
    injected.headers.push(['accept-encoding', 'gzip, deflate, br']);
    const made = this.#options.secrets.redactor(secrets);
    const redactor = made instanceof Promise ? await made : made;

    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await this.#agent.request({
        origin: dest.origin,
        path: `${injected.url.pathname}${injected.url.search}`,
        method,
        headers: injected.headers.flat(),
        body: streamed
          ? Readable.from(limited(request.body as AsyncIterable<Uint8Array>, this.#maxBody))
          : (injected.body ?? null),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
    } catch (e) {
      throw mapNetworkError(e, dest.origin);
    }

    const decoders = decodersFor(upstream.headers);
    if (decoders === undefined) {
      upstream.body.on('error', () => {});
      upstream.body.destroy();
      throw new AgentSecretsError(
        'UPSTREAM_ENCODING_UNSUPPORTED',
        `${dest.origin} answered with a content or transfer encoding that cannot be decoded here`,
        {
          hint: 'the response could not be scanned for credentials, so it was not passed on; ask for an identity, gzip, deflate or br response',
        },
      );
    }
    // Header names are scanned too: a header whose name holds a credential is dropped (a name cannot hold a marker).
    const { headers, count: headerRedactions } = redactor.redactHeaders(
      Object.entries(upstream.headers).flatMap(([name, value]) =>
        value === undefined || HOP_BY_HOP.has(name) || name === 'content-encoding'
          ? []
          : [[name, value] as const],
      ),
    );

    const redacting = redactor.createStream();
    const stages: NodeJS.ReadWriteStream[] = [];
    if (this.#timeouts.bodyMs > 0) stages.push(deadline(this.#timeouts.bodyMs, dest.origin));
    for (const decoder of decoders) stages.push(decoder());
    const redactions = () => headerRedactions + redacting.count;
    const httpStatus = upstream.statusCode;
    // The stages are joined with pipe(), which does not pass errors on: a failing stage's raw error (its text may
    // quote a URL) never reaches the caller. The caller reads `redacting`, which is destroyed with the mapped error.
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      const error = mapNetworkError(e, dest.origin);
      for (const stage of [upstream.body, ...stages]) (stage as Readable).destroy();
      redacting.destroy(error);
      report({ status: 'ERROR', reason: error.code, httpStatus, redacted: redactions() > 0, error });
    };
    let source: NodeJS.ReadableStream = upstream.body;
    upstream.body.on('error', fail);
    for (const stage of stages) {
      stage.on('error', fail);
      source = source.pipe(stage);
    }
    source.pipe(redacting);
    // Reported once every listener of the end has run: a transport finishing its answer there (the proxy's last
    // write) is not held up by the audit event's validation.
    redacting.on('end', () =>
      queueMicrotask(() => report({ status: 'OK', reason: null, httpStatus, redacted: redactions() > 0 })),
    );
    redacting.on('close', () => {
      // The caller went away (or a stage failed): stop the upstream transfer.
      if (!redacting.readableEnded && !failed) {
        failed = true;
        report({ status: 'ERROR', reason: 'UPSTREAM_RESET', httpStatus, redacted: redactions() > 0 });
        upstream.body.destroy();
      }
    });
    const output = redacting;
    return { status: httpStatus, headers, headerRedactions, body: output, redactions };
  }

  /**
   * For the forward proxy of `agentsecrets run`: whether the origin of `url` is on the allowlist, and the addresses it
   * may be dialled at under SPEC §7's address rule — a loopback, private, link-local, CGNAT, multicast or metadata
   * address only when an allowlist entry names it; an unlisted destination is judged as a wildcard entry is (public
   * addresses only). Throws SSRF_BLOCKED or UPSTREAM_DNS. The caller connects to the addresses returned, never to the
   * name again, so the answer cannot change in between.
   */
  async forwardTarget(url: string): Promise<{ allowlisted: boolean; addresses: string[] }> {
    const dest = parseDestination(url);
    const entry = matchAllowlist(dest, this.#options.policy.allowlist());
    const judge: AllowlistEntry = entry ?? {
      scheme: dest.scheme,
      host: '*.unlisted.invalid',
      kind: 'wildcard',
      port: undefined,
    };
    const addresses = await resolveAndCheck(
      dest,
      judge,
      this.#options.lookup === undefined ? {} : { lookup: this.#options.lookup },
    );
    return { allowlisted: entry !== undefined, addresses };
  }

  /** Closes pooled connections. In-flight requests finish first. */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}

async function* limited(body: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    yield chunk;
  }
}
