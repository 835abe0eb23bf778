import { AgentSecretsError, toAgentSecretsError } from '@agentsecrets/errors';
import type { InjectionEngine } from '@agentsecrets/injection';
import { type AuditTrail, useEvent } from './audit-trail.js';
import type { AgentCallRequest, AgentCallResponse, BufferedResponse } from './credential-client.js';
import type { PolicyInForce } from './policy-admin.js';

const DEFAULT_MAX_BUFFERED = 50 * 1024 * 1024;

/** Options of {@link Calls}. */
export interface CallsParts {
  readonly audit: AuditTrail;
  readonly engine: InjectionEngine;
  readonly policy: PolicyInForce;
}

/**
 * Calls with credentials and their audit trail: the one path every transport's call takes through the core. Fails
 * closed: a call whose event the log cannot take is refused before anything is read or sent.
 */
export class Calls {
  readonly #audit: AuditTrail;
  readonly #engine: InjectionEngine;
  readonly #policy: PolicyInForce;
  #closing: Promise<void> | undefined;

  constructor(parts: CallsParts) {
    this.#audit = parts.audit;
    this.#engine = parts.engine;
    this.#policy = parts.policy;
  }

  /** Whether the origin of `url` is allowlisted and the addresses it may be dialled at (the forward proxy's check). */
  async forwardTarget(url: string): Promise<{ allowlisted: boolean; addresses: string[] }> {
    await this.#policy.fresh();
    return this.#engine.forwardTarget(url);
  }

  /**
   * Sends one request with credentials injected by name. Refusals throw before any secret is read. The response
   * body streams, redacted; the audit event is written when it ends (see {@link AgentCallResponse.recorded}).
   *
   * Fails closed: when the audit log cannot take the event — earlier events are still unwritten, the disk is full,
   * or this call's event would not validate — the call is refused with AUDIT_IO before anything is read or sent.
   */
  async call(request: AgentCallRequest): Promise<AgentCallResponse> {
    const { transport, agentId, claims } = request;
    const claimed = {
      ...(claims?.transport === undefined ? {} : { transport: claims.transport }),
      ...(claims?.agentId === undefined ? {} : { agent_id: claims.agentId }),
    };
    try {
      // Without waiting while the policy files were looked at recently: most calls pay no promise here.
      if (this.#policy.freshNow() === undefined) await this.#policy.fresh();
    } catch (e) {
      // A tampered or rolled-back policy refuses every call; each refusal is on the record.
      const code = toAgentSecretsError(e).code;
      if (code === 'POLICY_ROLLBACK' || code === 'POLICY_SIGNATURE_INVALID') {
        await this.#audit
          .record({ ...useEvent(transport, [], 'BLOCKED', code), agent_id: agentId ?? null })
          .catch(() => undefined);
      }
      throw e;
    }
    const probe = {
      ...useEvent(transport, [...new Set(request.injections.map((i) => i.key))], 'OK', null),
      agent_id: agentId ?? null,
    };
    if (!this.#audit.readyNow(probe)) await this.#audit.ready(probe);
    // Settles with the audit write of the call's outcome, which the engine reports once the body has ended or
    // closed (after the end's own listeners).
    let recordedNow: (write: Promise<void>) => void = () => undefined;
    const recorded = new Promise<void>((resolve) => {
      recordedNow = (write) => resolve(write);
    });
    // A transport that does not look (the proxy) must not turn a failed write into an unhandled rejection: the
    // failure is reported to the audit trail's listener and the event is owed either way.
    recorded.catch(() => {});
    // The request goes to the engine as it came (one copy: the engine reads none of the fields only the core knows).
    const response = await this.#engine.call({
      ...request,
      onOutcome: (outcome) => {
        const write = this.#audit.record({
          transport,
          agent_id: agentId ?? null,
          method: outcome.method,
          target: outcome.target,
          secret_keys: [...outcome.secretKeys],
          styles: [...outcome.styles],
          status: outcome.status,
          reason: outcome.reason,
          http_status: outcome.httpStatus,
          redacted: outcome.redacted,
          duration_ms: outcome.durationMs,
          ...(Object.keys(claimed).length === 0 ? {} : { claims: claimed }),
        });
        recordedNow(write);
      },
    });
    return { ...response, recorded };
  }

  /** {@link call}, with the whole body read (up to `maxBytes`, default 50 MiB) for transports that answer at once. */
  async fetch(request: AgentCallRequest & { readonly maxBytes?: number }): Promise<BufferedResponse> {
    const { maxBytes = DEFAULT_MAX_BUFFERED, ...rest } = request;
    const response = await this.call(rest);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        response.body.destroy();
        throw new AgentSecretsError('REQUEST_TOO_LARGE', `the response is larger than ${maxBytes} bytes`, {
          hint: 'use the proxy to stream large responses',
        });
      }
      chunks.push(chunk as Buffer);
    }
    // Fail closed at the end too: an answer whose use could not be recorded is withheld.
    await response.recorded.catch((e: unknown) => {
      throw new AgentSecretsError(
        'AUDIT_IO',
        'the call was sent, but its audit event could not be written, so the answer is withheld',
        { hint: toAgentSecretsError(e).hint ?? 'free disk space in the AgentSecrets home', cause: e },
      );
    });
    return {
      status: response.status,
      headers: response.headers,
      body: Buffer.concat(chunks),
      redacted: response.redactions() > 0,
    };
  }

  /** Waits for pending audit writes (owed events included), then closes pooled connections. Safe to call again. */
  close(): Promise<void> {
    this.#closing ??= this.#audit.close().then(() => this.#engine.close());
    return this.#closing;
  }
}
