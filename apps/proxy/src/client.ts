import {
  type AgentCallRequest,
  AgentSecretsError,
  type BufferedResponse,
  type CredentialClient,
  type SecretInfo,
  type StatusInfo,
  type TeamSyncDiff,
} from '@agentsecrets/core';
import { Agent, request } from 'undici';
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

/**
 * Talks to a running proxy so that `call` and `mcp serve` need no access to the vault: the proxy holds it open.
 * Speaks the protocol of protocol.ts; the proxy's errors come back as the AgentSecretsErrors the core would have
 * thrown (a refusal by the proxy's policy is that refusal, never a reason to try another way).
 */
export class ProxyClient implements CredentialClient {
  readonly state: ProxyState;
  readonly #agent = new Agent({ keepAliveTimeout: 5_000 });
  readonly #base: string;

  constructor(state: ProxyState) {
    this.state = state;
    this.#base = proxyUrl(state);
  }

  async #json<T>(path: string): Promise<T> {
    const res = await this.#request(path, { method: 'GET', headers: formatSessionToken(this.state.token) });
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
  ): Promise<Answer> {
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
    const error = parseError(res.headers, body);
    if (error !== undefined) throw error;
    return {
      status: res.statusCode,
      headers: res.headers,
      trailers: res.trailers as Record<string, string | undefined>,
      body,
    };
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
    return (JSON.parse(res.body.toString('utf8')) as { changed: boolean }).changed;
  }

  /** Makes the proxy close and forget its opened vault. False: it was locked already. */
  async lock(): Promise<boolean> {
    const res = await this.#request(PROXY_ROUTES.lock, {
      method: 'POST',
      headers: formatSessionToken(this.state.token),
    });
    return (JSON.parse(res.body.toString('utf8')) as { changed: boolean }).changed;
  }

  /** Whether the proxy's vault is open or locked. */
  async vault(): Promise<'open' | 'locked'> {
    return (await this.#json<{ vault: 'open' | 'locked' }>(PROXY_ROUTES.vault)).vault;
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
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    });
    return {
      status: res.status,
      headers: upstreamHeaders(res.headers),
      body: res.body,
      redacted: REDACTED.parse(res.headers, res.trailers),
    };
  }

  /** Secret names and policy, from the proxy's vault. */
  listSecrets(): Promise<SecretInfo[]> {
    return this.#json<SecretInfo[]>(PROXY_ROUTES.secrets);
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
    await this.#agent.close();
  }
}
