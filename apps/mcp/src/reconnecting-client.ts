import type {
  AgentCallRequest,
  AgentSecretsOptions,
  BufferedResponse,
  CredentialClient,
  SecretInfo,
  StatusInfo,
} from '@agentsecrets/core';
import { AgentSecretsError, toAgentSecretsError } from '@agentsecrets/errors';
import { openCredentialClient, ProxyClient } from '@agentsecrets/proxy/client';

/** Why the vault could not be opened here, said for someone who will be told by a model what to type. */
function explain(error: AgentSecretsError): AgentSecretsError {
  if (error.code !== 'PASSPHRASE_REQUIRED') return error;
  return new AgentSecretsError(
    'PASSPHRASE_REQUIRED',
    'the file vault is locked and no AgentSecrets proxy is running',
    {
      hint: 'type `agentsecrets service install` then `agentsecrets unlock` in a terminal (or `agentsecrets proxy start --detach`)',
      cause: error,
    },
  );
}

/**
 * Whether a proxy call failed before anything could have been sent: the proxy refused the session token, or
 * nothing listens where the proxy was. Only such a call is retried; a call cut off mid-way is not (it may have gone
 * out).
 */
function unsent(e: unknown): boolean {
  if (!(e instanceof AgentSecretsError)) return false;
  if (e.code === 'UNAUTHORIZED') return true;
  return (
    e.code === 'UPSTREAM_UNREACHABLE' &&
    (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED'
  );
}

/**
 * The MCP server's credential client for a session that may outlast any one proxy. A server started before the
 * proxy (or where the vault cannot be opened: the file vault without its passphrase) looks for the proxy again at
 * each call instead of failing until the client restarts it; one whose proxy was restarted (by the service manager:
 * a new session token) reconnects and retries a call that was refused before anything was sent, once.
 *
 * Nothing is opened (no proxy looked for, no core loaded) until {@link ReconnectingClient.prepare} or the first
 * call, so that the server can answer `initialize` first.
 */
export class ReconnectingClient implements CredentialClient {
  readonly #options: AgentSecretsOptions;
  #current: Promise<CredentialClient | AgentSecretsError> | undefined;

  constructor(options: AgentSecretsOptions) {
    this.#options = options;
  }

  /** Starts looking for the proxy (or opening the vault) ahead of the first call, if nothing has yet. */
  prepare(): void {
    if (this.#current === undefined) void this.#open();
  }

  #open(): Promise<CredentialClient | AgentSecretsError> {
    const opening = openCredentialClient(this.#options).then(
      (opened) => opened.client,
      (e: unknown) => explain(toAgentSecretsError(e)),
    );
    this.#current = opening;
    return opening;
  }

  async #client(): Promise<CredentialClient> {
    const earlier = this.#current;
    let client = await (earlier ?? this.#open());
    // An earlier failure (no proxy then, a locked vault) is not final: look again — once for the calls that find
    // it together (a second look would open a second client and leave the first unclosed).
    if (client instanceof AgentSecretsError && earlier !== undefined) {
      client = await (this.#current === earlier ? this.#open() : (this.#current ?? this.#open()));
    }
    if (client instanceof AgentSecretsError) throw client;
    return client;
  }

  async #run<T>(op: (client: CredentialClient) => Promise<T>): Promise<T> {
    const client = await this.#client();
    try {
      return await op(client);
    } catch (e) {
      if (!(client instanceof ProxyClient) || !unsent(e)) throw e;
      // Nothing was sent: the proxy is another one now (restarted with a new token, or on another port).
      if ((await this.#current) === client) {
        void client.close().catch(() => undefined);
        await this.#open();
      }
      return op(await this.#client());
    }
  }

  fetch(request: AgentCallRequest & { readonly maxBytes?: number }): Promise<BufferedResponse> {
    return this.#run((c) => c.fetch(request));
  }

  listSecrets(): Promise<SecretInfo[]> {
    return this.#run((c) => c.listSecrets());
  }

  status(): Promise<StatusInfo> {
    return this.#run((c) => c.status());
  }

  async close(): Promise<void> {
    const client = await this.#current;
    if (client !== undefined && !(client instanceof AgentSecretsError)) await client.close();
  }
}
