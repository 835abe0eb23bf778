import { AgentSecretsError } from '@agentsecrets/errors';
import type { z } from 'zod';
import type { SyncSession } from '../types.js';
import { TokenPairSchema } from '../wire.js';
import { SyncErrorBodySchema, syncErrorFrom } from '../wire-errors.js';

/** An answer of the sync server: its status and its JSON body, nothing in it trusted yet. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** The path segment of a workspace, encoded. */
export const workspacePath = (workspaceId: string) => `/v1/workspaces/${encodeURIComponent(workspaceId)}`;

/**
 * The HTTP side of the sync client: JSON requests, one transparent access-token refresh, and answers checked
 * against their wire schema. A refusal becomes the server's own error code (`syncErrorFrom`), never a guess from the
 * HTTP status.
 */
export class Transport {
  readonly server: string;

  constructor(server: string) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new AgentSecretsError('CONFIG_INVALID', 'AGENTSECRETS_SERVER is not a URL', {
        hint: 'set it to the sync server, e.g. https://sync.example.com',
      });
    }
    this.server = url.origin;
  }

  async send(method: string, path: string, body?: unknown, token?: string): Promise<Answer> {
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new AgentSecretsError('UPSTREAM_UNREACHABLE', `the sync server ${this.server} did not answer`, {
        hint: 'check AGENTSECRETS_SERVER and that the server is running',
        cause: e,
      });
    }
    const text = await res.text();
    try {
      return { status: res.status, body: text === '' ? {} : JSON.parse(text) };
    } catch (e) {
      throw new AgentSecretsError(
        'UPSTREAM_RESET',
        `the sync server answered ${method} ${path.split('/')[2] ?? ''} with something that is not JSON`,
        {
          hint: 'check AGENTSECRETS_SERVER points at an AgentSecrets sync server',
          cause: e,
        },
      );
    }
  }

  /** An authenticated call: when the server says the access token is no longer good, refreshes it once. */
  async authed(session: SyncSession, method: string, path: string, body?: unknown): Promise<Answer> {
    let res = await this.send(method, path, body, session.accessToken);
    if (errorCode(res) === 'UNAUTHORIZED') {
      const refreshed = await this.send('POST', '/v1/auth/refresh', { refreshToken: session.refreshToken });
      const tokens = this.expect(refreshed, 200, TokenPairSchema, 'the token refresh');
      session.accessToken = tokens.accessToken;
      session.refreshToken = tokens.refreshToken;
      res = await this.send(method, path, body, session.accessToken);
    }
    return res;
  }

  /**
   * The answer's body, checked against `schema`, when the server answered `status`; the server's refusal otherwise.
   * A malformed answer is refused before anything in it is used.
   */
  expect<S extends z.ZodType>(res: Answer, status: number, schema: S, what: string): z.infer<S> {
    this.ok(res, status, what);
    return parse(schema, res.body, what);
  }

  /** Nothing when the server answered `status`; its refusal otherwise. */
  ok(res: Answer, status: number, what: string): void {
    if (res.status !== status) throw syncErrorFrom(res.body, what);
  }
}

/** The code of a refusal, when the answer is one. */
export function errorCode(res: Answer): string | undefined {
  const parsed = SyncErrorBodySchema.safeParse(res.body);
  return parsed.success ? parsed.data.error.code : undefined;
}

/** Checks a body against its wire schema: a malformed answer is refused before anything in it is used. */
export function parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') || '(top level)';
    throw new AgentSecretsError(
      'UPSTREAM_RESET',
      `the sync server's answer to ${what} is malformed (${where})`,
      {
        hint: 'the server may be misconfigured or malicious; nothing in the answer was used',
      },
    );
  }
  return parsed.data;
}
