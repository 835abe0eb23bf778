import { unlink } from 'node:fs/promises';
import { AgentSecretsError, ERROR_CODES, type ErrorCode } from '@agentsecrets/errors';
import { formatInjectionSpec } from '@agentsecrets/injection';
import { Agent, request } from 'undici';
import { z } from 'zod';
import type {
  AgentCallRequest,
  BufferedResponse,
  CredentialClient,
  SecretInfo,
  StatusInfo,
} from './agent-secrets.js';
import { type HomePaths, readJsonFile, writeJsonFile } from './home.js';

/** `$AGENTSECRETS_HOME/proxy.json` (0600): how to reach the running proxy. */
export const ProxyStateSchema = z
  .object({
    pid: z.number().int().positive(),
    host: z.string(),
    port: z.number().int().min(1).max(65535),
    token: z.string().nullable(),
    startedAt: z.string(),
  })
  .strict();
/** The running proxy's address, pid and session token. */
export type ProxyState = z.infer<typeof ProxyStateSchema>;

/** True when a process with this pid exists (signal 0 checks without signalling). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The recorded proxy, or undefined when none is recorded or its process is gone. */
export async function readProxyState(paths: HomePaths): Promise<ProxyState | undefined> {
  const state = await readJsonFile(paths.proxy, ProxyStateSchema);
  return state !== undefined && isProcessAlive(state.pid) ? state : undefined;
}

/** Records the running proxy (mode 0600: the file holds the session token). */
export async function writeProxyState(paths: HomePaths, state: ProxyState): Promise<void> {
  await writeJsonFile(paths.proxy, ProxyStateSchema.parse(state));
}

/** Removes proxy.json if it still describes process `pid`. */
export async function clearProxyState(paths: HomePaths, pid: number): Promise<void> {
  const state = await readJsonFile(paths.proxy, ProxyStateSchema).catch(() => undefined);
  if (state !== undefined && state.pid !== pid) return;
  await unlink(paths.proxy).catch(() => undefined);
}

/** The header the proxy sets on errors of its own (as opposed to an upstream's error status). */
export const PROXY_ERROR_HEADER = 'x-as-error';

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Talks to a running proxy so that `call` and `mcp serve` need no access to the vault: the proxy holds it open.
 * Its errors come back as the same AgentSecretsErrors the core would have thrown.
 */
export class ProxyClient implements CredentialClient {
  readonly state: ProxyState;
  readonly #agent = new Agent({ keepAliveTimeout: 5_000 });
  readonly #base: string;

  constructor(state: ProxyState) {
    this.state = state;
    this.#base = `http://${urlHost(state.host)}:${state.port}`;
  }

  #auth(): Record<string, string> {
    return this.state.token === null ? {} : { 'x-as-session-token': this.state.token };
  }

  async #json<T>(path: string): Promise<T> {
    const res = await this.#request(path, { method: 'GET', headers: this.#auth() });
    return JSON.parse(res.body.toString('utf8')) as T;
  }

  async #request(
    path: string,
    init: {
      method: string;
      headers: Record<string, string | string[]>;
      body?: Buffer | string;
      signal?: AbortSignal;
    },
  ) {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${this.#base}${path}`, { ...init, dispatcher: this.#agent });
    } catch (e) {
      throw new AgentSecretsError('UPSTREAM_UNREACHABLE', `the proxy at ${this.#base} did not answer`, {
        hint: 'check `agentsecrets proxy status`, or stop it and run without it',
        cause: e,
      });
    }
    let body: Buffer;
    try {
      body = Buffer.from(await res.body.arrayBuffer());
    } catch (e) {
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
    const trailers = res.trailers as Record<string, string | undefined>;
    const code = res.headers[PROXY_ERROR_HEADER];
    if (typeof code === 'string') {
      let parsed: { error?: { code?: string; message?: string; hint?: string } } = {};
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        // fall through to the generic message
      }
      const known = parsed.error?.code ?? code;
      throw new AgentSecretsError(
        Object.hasOwn(ERROR_CODES, known) ? (known as ErrorCode) : 'INTERNAL_ERROR',
        parsed.error?.message ?? `the proxy refused the request (${code})`,
        { hint: parsed.error?.hint ?? '' },
      );
    }
    return { status: res.statusCode, headers: res.headers, trailers, body };
  }

  /** Is the proxy up and does it accept our token? */
  async health(): Promise<boolean> {
    try {
      await this.#json<StatusInfo>('/status');
      return true;
    } catch {
      return false;
    }
  }

  /** Sends one call through the proxy and reads the whole (redacted) response. */
  async fetch(call: AgentCallRequest): Promise<BufferedResponse> {
    // Null prototype: a caller's header named `constructor` or `__proto__` is a header, not Object's property.
    const headers: Record<string, string | string[]> = Object.assign(Object.create(null), this.#auth());
    const extra: [string, string][] = [];
    if (call.headers !== undefined) {
      const pairs = Array.isArray(call.headers) ? call.headers : Object.entries(call.headers);
      for (const [name, value] of pairs as [string, string | readonly string[] | undefined][]) {
        if (value === undefined) continue;
        for (const v of typeof value === 'string' ? [value] : value) extra.push([name, v]);
      }
    }
    for (const [name, value] of extra) {
      const lower = name.toLowerCase();
      // As the engine does locally: a caller's header never becomes a directive to the proxy (an injection, a claim).
      if (lower.startsWith('x-as-') || lower === 'proxy-authorization') continue;
      const prev = headers[lower];
      headers[lower] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
    }
    headers['x-as-target-url'] = call.url;
    headers['x-as-method'] = (call.method ?? 'GET').toUpperCase();
    headers['x-as-transport'] = call.transport;
    if (call.agentId !== undefined) headers['x-as-agent-id'] = call.agentId;
    if (call.injections.length > 0)
      headers['x-as-inject'] = call.injections.map(formatInjectionSpec).join(', ');
    let body: Buffer | undefined;
    if (call.body !== undefined) {
      if (typeof call.body === 'string' || call.body instanceof Uint8Array) body = Buffer.from(call.body);
      else {
        const chunks: Buffer[] = [];
        for await (const c of call.body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
        body = Buffer.concat(chunks);
      }
    }
    const res = await this.#request('/proxy', {
      method: 'POST',
      headers,
      ...(body === undefined ? {} : { body }),
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    });
    const out: [string, string][] = [];
    let redacted = res.trailers['x-as-redacted'] === 'true';
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      if (name === 'x-as-redacted' && value === 'true') redacted = true;
      // The proxy hop's own headers: its X-AS-* and the `trailer` that announces X-AS-Redacted (read above).
      if (
        name.startsWith('x-as-') ||
        name === 'trailer' ||
        name === 'transfer-encoding' ||
        name === 'connection' ||
        name === 'keep-alive'
      )
        continue;
      for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
    }
    return { status: res.status, headers: out, body: res.body, redacted };
  }

  /** Secret names and policy, from the proxy's vault. */
  listSecrets(): Promise<SecretInfo[]> {
    return this.#json<SecretInfo[]>('/secrets');
  }

  /** The proxy's view of backend, project and policy. */
  status(): Promise<StatusInfo> {
    return this.#json<StatusInfo>('/status');
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** A client for the running proxy of this home, or undefined when none answers. */
export async function connectRunningProxy(paths: HomePaths): Promise<ProxyClient | undefined> {
  const state = await readProxyState(paths);
  if (state === undefined) return undefined;
  const client = new ProxyClient(state);
  if (await client.health()) return client;
  await client.close();
  return undefined;
}
