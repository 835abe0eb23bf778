import type { AuditEvent } from '@agentsecrets/audit';
import type { AgentSecretsError } from '@agentsecrets/errors';
import type { CallRequest, CallResponse } from '@agentsecrets/injection';
import type { BackendName, SecretValue } from '@agentsecrets/keychain';
import type { ProjectRef } from './model.js';
import type { BindingRecord } from './policy.js';

// The outside of the core as every transport sees it, with no implementation: the local core (agent-secrets.ts) and
// the client of a running proxy (@agentsecrets/proxy) both implement CredentialClient, and parts of the core import
// these types from here rather than from each other.

/** Which way a use of a credential came in; recorded in the audit log. */
export type Transport = AuditEvent['transport'];

/** One call through the core: the engine's request plus who made it. */
export interface AgentCallRequest extends Omit<CallRequest, 'onOutcome'> {
  /** The way the call came in, as the recording process knows it. */
  readonly transport: Transport;
  readonly agentId?: string;
  /** What the caller said about itself and cannot be checked (the proxy's transport and agent id claims). */
  readonly claims?: { readonly transport?: Transport; readonly agentId?: string };
}

/** A streaming response of a call through the core. */
export interface AgentCallResponse extends CallResponse {
  /**
   * Settles once the call's audit event is written: rejects (AUDIT_IO) when it could not be (the event is then owed
   * and retried, and the next call is refused until it is written). `fetch` withholds the answer when it rejects; a
   * streaming transport can report it.
   */
  readonly recorded: Promise<void>;
}

/** A whole response, read to the end and redacted: what the CLI and the MCP server hand back. */
export interface BufferedResponse {
  readonly status: number;
  readonly headers: readonly [string, string][];
  readonly body: Buffer;
  readonly redacted: boolean;
}

/** A secret as listed: its name and policy, never its value. */
export interface SecretInfo {
  readonly name: string;
  readonly releasable: boolean;
  readonly bindings: readonly BindingRecord[];
}

/** The running proxy of a home as `status` shows it (never its token). */
export interface ProxyInfo {
  readonly pid: number;
  readonly url: string;
  readonly auth: boolean;
}

/** What `status` reports. */
export interface StatusInfo {
  readonly home: string;
  readonly backend: BackendName;
  readonly workspace: { readonly id: string; readonly name: string; readonly kind: string };
  readonly project: ProjectRef;
  readonly secrets: number;
  readonly allowlist: number;
  readonly auditLog: string;
  readonly lastSync: string | null;
  /** The running proxy of this home, if any. */
  readonly proxy: ProxyInfo | null;
}

/**
 * What a transport needs to act with credentials, whether it holds the vault itself (the local core) or goes through
 * the running proxy (`ProxyClient` of `@agentsecrets/proxy`).
 */
export interface CredentialClient {
  fetch(request: AgentCallRequest & { readonly maxBytes?: number }): Promise<BufferedResponse>;
  listSecrets(): Promise<SecretInfo[]>;
  status(): Promise<StatusInfo>;
  close(): Promise<void>;
}

/** Values released to another process (`env`, `exec`), and the names refused with why. */
export interface Release {
  readonly values: ReadonlyMap<string, SecretValue>;
  readonly errors: ReadonlyMap<string, AgentSecretsError>;
}
