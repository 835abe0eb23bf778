import type { EventEmitter } from 'node:events';
import { Agent, type ClientRequest, type IncomingMessage, request } from 'node:http';
import type {
  AgentCallRequest,
  BufferedResponse,
  CredentialClient,
  SecretInfo,
  StatusInfo,
  TeamSyncDiff,
} from '@agentsecrets/core';
import { AgentSecretsError } from '@agentsecrets/errors';
import { RUNS_ROUTE, type RunGrant, RunGrantSchema, type RunRequest } from './forward/wire.js';
import {
  formatRequestHead,
  formatSessionToken,
  PROXY_ROUTES,
  parseError,
  REDACTED,
  upstreamHeaders,
} from './protocol.js';
import { type ProxyState, proxyUrl } from './state.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly trailers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** An answer's headers or trailers as protocol.ts reads them: a repeated header keeps each value, in order. */
function headerRecord(distinct: NodeJS.Dict<string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, values] of Object.entries(distinct)) {
    if (values !== undefined) out[name] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

/** The longest the proxy may stay silent before a request is given up (undici's default): it answers within its upstream's timeouts. */
const IDLE_MS = 300_000;
/** The most an answer may hold: the 50 MiB a local `fetch` buffers, and room for the JSON around it. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

const isObject = (d: unknown): d is Record<string, unknown> =>
  typeof d === 'object' && d !== null && !Array.isArray(d);
const hasChanged = (d: unknown) => isObject(d) && typeof d.changed === 'boolean';
// What `secrets list` prints from each entry.
const isSecretInfo = (d: unknown) =>
  isObject(d) && typeof d.name === 'string' && typeof d.releasable === 'boolean' && Array.isArray(d.bindings);

/** node:http takes only an AbortSignal; a caller's emitter (see `CallRequest.signal`) is turned into one. */
function abortSignal(signal: AbortSignal | EventEmitter): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  if ((signal as { aborted?: boolean }).aborted === true) controller.abort();
  else signal.once('abort', () => controller.abort());
  return controller.signal;
}
/**
 * Talks to a running proxy so that `call` and `mcp serve` need no access to the vault: the proxy holds it open.
 * Speaks the protocol of protocol.ts; the proxy's errors come back as the AgentSecretsErrors the core would have
 * thrown (a refusal by the proxy's policy is that refusal, never a reason to try another way). Built on node:http
 * and the light entries of errors and injection specs, so a CLI run or an MCP server start that goes through the
 * proxy loads neither the core, undici nor zod (`@agentsecrets/proxy/client`).
 */
export class ProxyClient implements CredentialClient {
  readonly state: ProxyState;
  // Keep-alive for the MCP server's many calls; an idle socket is closed after the server's keep-alive hint.
  readonly #agent = new Agent({ keepAlive: true });
  readonly #base: string;

  readonly #idleMs: number;

  /** `idleMs`: how long the proxy may stay silent (default 5 minutes; tests shorten it). */
  constructor(state: ProxyState, options: { readonly idleMs?: number } = {}) {
    this.state = state;
    this.#base = proxyUrl(state);
    this.#idleMs = options.idleMs ?? IDLE_MS;
  }

  async #json<T>(path: string, valid: (data: unknown) => boolean = isObject): Promise<T> {
    const res = await this.#request(path, { method: 'GET', headers: formatSessionToken(this.state.token) });
    return this.#answer<T>(path, res, valid);
  }

  /**
   * The JSON body of a route's answer, checked for the shape the caller reads: a proxy of another version, or
   * something else listening on its port, gives one clear error instead of a TypeError further on.
   */
  #answer<T>(path: string, res: Answer, valid: (data: unknown) => boolean): T {
    let data: unknown;
    try {
      data = JSON.parse(res.body.toString('utf8'));
    } catch {
      data = undefined; // the parser's message quotes the text: not carried on
    }
    if (data === undefined || !valid(data)) {
      throw new AgentSecretsError(
        'INTERNAL_ERROR',
        `the proxy at ${this.#base} gave an answer to ${path} that this client cannot read`,
        { hint: 'restart it with this version: `agentsecrets proxy stop`, then `agentsecrets proxy start`' },
      );
    }
    return data as T;
  }

  async #request(
    path: string,
    init: {
      method: string;
      headers: Record<string, string | string[]>;
      body?: Buffer | string;
      signal?: AbortSignal;
    },
  ): Promise<Answer> {
    let req: ClientRequest;
    try {
      req = request(`${this.#base}${path}`, {
        method: init.method,
        headers: init.headers,
        agent: this.#agent,
        ...(init.signal === undefined ? {} : { signal: init.signal }),
      });
    } catch {
      // node:http checks every header before anything is sent; its message would quote the header's name only, but
      // nothing of a caller's header is carried on.
      throw new AgentSecretsError(
        'INVALID_ARGUMENT',
        'a request header is not valid HTTP: a name that is not a token, or a value with a line break or control character',
        { hint: 'fix the header and send the request again' },
      );
    }
    // Silence from whatever listens there (a hung proxy, or not a proxy at all) ends the request, not the caller.
    req.setTimeout(this.#idleMs, () => req.destroy(new Error('the proxy stopped answering')));
    let res: IncomingMessage;
    try {
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        req.once('response', resolve);
        req.once('error', reject);
        req.end(init.body);
      });
    } catch (e) {
      throw new AgentSecretsError('UPSTREAM_UNREACHABLE', `the proxy at ${this.#base} did not answer`, {
        hint: 'check `agentsecrets proxy status`, or stop it and run without it',
        cause: e,
      });
    }
    let body: Buffer;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res) {
        size += (chunk as Buffer).length;
        if (size > MAX_ANSWER_BYTES) {
          res.destroy();
          throw new AgentSecretsError(
            'REQUEST_TOO_LARGE',
            `the answer is larger than ${MAX_ANSWER_BYTES} bytes`,
            {
              hint: 'ask for less (a page, a range), or use the proxy directly, which streams',
            },
          );
        }
        chunks.push(chunk as Buffer);
      }
      // A connection closed before the end of a chunked body ends the stream without an error: not complete.
      if (!res.complete) throw new Error('the connection closed before the end of the answer');
      body = Buffer.concat(chunks);
    } catch (e) {
      if (e instanceof AgentSecretsError) throw e;
      // The proxy cuts an answer off when its upstream fails mid-body or when the call's audit event cannot be
      // written; an aborted signal ends here too.
      throw new AgentSecretsError(
        'UPSTREAM_RESET',
        `the answer from the proxy at ${this.#base} was cut off`,
        {
          hint: 'see `agentsecrets proxy logs` and the proxy log for why',
          cause: e,
        },
      );
    }
    const headers = headerRecord(res.headersDistinct);
    const error = parseError(headers, body);
    if (error !== undefined) throw error;
    return { status: res.statusCode ?? 0, headers, trailers: headerRecord(res.trailersDistinct), body };
  }

  /**
   * Checks that the proxy answers and takes our token, on its cheap authenticated route (no vault access). Throws
   * UPSTREAM_UNREACHABLE when nothing answers, UNAUTHORIZED when the token is refused.
   */
  async check(): Promise<void> {
    await this.#request(PROXY_ROUTES.session, {
      method: 'GET',
      headers: formatSessionToken(this.state.token),
    });
  }

  /** Whether the proxy answers and takes our token. A locked one is up: it answers every call with what to type. */
  async health(): Promise<boolean> {
    try {
      await this.check();
      return true;
    } catch (e) {
      return e instanceof AgentSecretsError && e.code === 'VAULT_LOCKED';
    }
  }

  /** Hands the owner passphrase to a locked proxy (over loopback, with the session token). False: it was open. */
  async unlock(passphrase: string): Promise<boolean> {
    const res = await this.#request(PROXY_ROUTES.unlock, {
      method: 'POST',
      headers: { ...formatSessionToken(this.state.token), 'content-type': 'text/plain; charset=utf-8' },
      body: passphrase,
    });
    return this.#answer<{ changed: boolean }>(PROXY_ROUTES.unlock, res, hasChanged).changed;
  }

  /** Makes the proxy close and forget its opened vault. False: it was locked already. */
  async lock(): Promise<boolean> {
    const res = await this.#request(PROXY_ROUTES.lock, {
      method: 'POST',
      headers: formatSessionToken(this.state.token),
    });
    return this.#answer<{ changed: boolean }>(PROXY_ROUTES.lock, res, hasChanged).changed;
  }

  /** Whether the proxy's vault is open or locked. */
  async vault(): Promise<'open' | 'locked'> {
    const valid = (d: unknown) => isObject(d) && (d.vault === 'open' || d.vault === 'locked');
    return (await this.#json<{ vault: 'open' | 'locked' }>(PROXY_ROUTES.vault, valid)).vault;
  }

  /** Sends one call through the proxy and reads the whole (redacted) response. */
  async fetch(call: AgentCallRequest): Promise<BufferedResponse> {
    const pairs: [string, string][] = [];
    if (call.headers !== undefined) {
      const entries = Array.isArray(call.headers) ? call.headers : Object.entries(call.headers);
      for (const [name, value] of entries as [string, string | readonly string[] | undefined][]) {
        if (value === undefined) continue;
        for (const v of typeof value === 'string' ? [value] : value) pairs.push([name, v]);
      }
    }
    const headers = Object.assign(
      formatRequestHead({
        url: call.url,
        method: call.method ?? 'GET',
        headers: pairs,
        injections: call.injections,
        transport: call.transport,
        ...(call.agentId === undefined ? {} : { agentId: call.agentId }),
      }),
      formatSessionToken(this.state.token),
    );
    let body: Buffer | undefined;
    if (call.body !== undefined) {
      if (typeof call.body === 'string' || call.body instanceof Uint8Array) body = Buffer.from(call.body);
      else {
        const chunks: Buffer[] = [];
        for await (const c of call.body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
        body = Buffer.concat(chunks);
      }
    }
    const res = await this.#request(PROXY_ROUTES.proxy, {
      method: 'POST',
      headers,
      ...(body === undefined ? {} : { body }),
      ...(call.signal === undefined ? {} : { signal: abortSignal(call.signal) }),
    });
    return {
      status: res.status,
      headers: upstreamHeaders(res.headers),
      body: res.body,
      redacted: REDACTED.parse(res.headers, res.trailers),
    };
  }

  /** Registers a run (`agentsecrets run`): its forward-proxy credential, its placeholders and the CA to trust. */
  async registerRun(run: RunRequest): Promise<RunGrant> {
    const res = await this.#request(RUNS_ROUTE, {
      method: 'POST',
      headers: { ...formatSessionToken(this.state.token), 'content-type': 'application/json' },
      body: JSON.stringify(run),
    });
    return this.#answer<RunGrant>(RUNS_ROUTE, res, (d) => RunGrantSchema.safeParse(d).success);
  }

  /** Ends a run: its credential and placeholders stop working at once. */
  async endRun(id: string): Promise<void> {
    await this.#request(`${RUNS_ROUTE}/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      headers: formatSessionToken(this.state.token),
    });
  }

  /** Secret names and policy, from the proxy's vault. */
  listSecrets(): Promise<SecretInfo[]> {
    return this.#json<SecretInfo[]>(PROXY_ROUTES.secrets, (d) => Array.isArray(d) && d.every(isSecretInfo));
  }

  /** Team sync's local-only, remote-only and changed secrets of the proxy's project, by name (`secrets diff`). */
  secretsDiff(): Promise<TeamSyncDiff> {
    return this.#json<TeamSyncDiff>(PROXY_ROUTES.secretsDiff);
  }

  /** The proxy's view of backend, project and policy. */
  status(): Promise<StatusInfo> {
    return this.#json<StatusInfo>(PROXY_ROUTES.status);
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}
