import type { CredentialClient } from '@agentsecrets/core';
import { toAgentSecretsError } from '@agentsecrets/errors';
import { parseInjectionObject } from '@agentsecrets/injection/spec';
import { SECRET_NAME_PATTERN } from '@agentsecrets/names';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { loadAudit } from './load.js';

/** What the MCP server needs: a credential client (local vault or running proxy) and where the audit log is. */
export interface McpServerOptions {
  readonly client: CredentialClient;
  readonly auditPath: string;
  /** Identifies the agent in the audit log. Default `mcp`. */
  readonly agentId?: string;
  /** Longest response body handed to the model, in characters; longer ones are cut and marked. Default 100,000. */
  readonly maxBodyChars?: number;
}

const VERSION = '0.1.0';
const HEADER_STYLES = ['bearer', 'basic', 'header:NAME'] as const;
const KEY = z.string().regex(SECRET_NAME_PATTERN);

function ok<T extends Record<string, unknown>>(structured: T, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

/** A policy or upstream failure as a result the model can read and act on, never a protocol error. */
function failure(error: unknown): CallToolResult {
  const e = toAgentSecretsError(error);
  const text = `${e.code}: ${e.message}${e.hint ? ` — ${e.hint}` : ''}`;
  // No structuredContent: clients validate it against the tool's output schema, which describes success.
  return { isError: true, content: [{ type: 'text', text }] };
}

/**
 * Builds the MCP server of SPEC.md §5: `list_secrets`, `api_call`, `audit_log`, `status`. Every tool has input and
 * output schemas and annotations; policy errors come back as `isError` results with the code and a hint.
 */
export function createMcpServer(options: McpServerOptions): McpServer {
  const { client } = options;
  const agentId = options.agentId ?? 'mcp';
  const maxBody = options.maxBodyChars ?? 100_000;
  const server = new McpServer({ name: 'agentsecrets', version: VERSION });

  server.registerTool(
    'list_secrets',
    {
      title: 'List secrets',
      description:
        'Names of the credentials you can use in api_call injections, with the hosts each is bound to. Values are never shown.',
      inputSchema: {},
      outputSchema: {
        secrets: z.array(
          z.object({
            name: z.string(),
            bound_hosts: z.array(z.string()),
            releasable: z.boolean(),
            // Where in a request the secret may go at each bound destination (no binding: headers anywhere allowed).
            bindings: z.array(
              z.object({
                destination: z.string(),
                methods: z.array(z.string()),
                inject: z.array(z.string()),
              }),
            ),
          }),
        ),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async () => {
      try {
        const secrets = (await client.listSecrets()).map((s) => ({
          name: s.name,
          bound_hosts: s.bindings.map((b) => b.destination),
          releasable: s.releasable,
          bindings: s.bindings.map((b) => ({
            destination: b.destination,
            methods: [...b.methods],
            inject: [...(b.inject ?? HEADER_STYLES)],
          })),
        }));
        const lines = secrets.map(
          (s) =>
            `${s.name} (${
              s.bindings.length === 0
                ? `headers only: ${HEADER_STYLES.join(', ')}`
                : s.bindings.map((b) => `at ${b.destination} as ${b.inject.join(', ')}`).join('; ')
            })`,
        );
        return ok({ secrets }, lines.length ? lines.join('\n') : 'no secrets in this project');
      } catch (e) {
        return failure(e);
      }
    },
  );

  server.registerTool(
    'api_call',
    {
      title: 'Authenticated API call',
      description:
        'Calls an HTTP API with credentials injected by name: you name the secret, AgentSecrets puts its value into the request and redacts it from the response. ' +
        'injections maps a style to a secret name: "bearer", "basic" (value user:pass), "header:X-Name", "query:param", "body:a.b[0].c" (JSON body), "form:field". ' +
        'A secret goes only where its owner allowed: headers (bearer, basic, header:NAME) by default; query, body and form only into the fields list_secrets shows for it. ' +
        'The destination must be on the allowlist; ask the user to run `agentsecrets allowlist add HOST` if it is not.',
      inputSchema: {
        url: z.string().describe('https URL of the API endpoint'),
        method: z
          .string()
          .regex(/^[A-Za-z]{1,16}$/)
          .optional()
          .describe('HTTP method, default GET'),
        headers: z
          .record(z.string(), z.string())
          .optional()
          .describe('extra request headers (no credentials)'),
        body: z.string().optional().describe('request body as text (JSON for body: injections)'),
        injections: z.record(z.string(), KEY).describe('style → secret name, e.g. {"bearer": "STRIPE_KEY"}'),
      },
      outputSchema: {
        status: z.number().int(),
        headers: z.record(z.string(), z.string()),
        body: z.string(),
        redacted: z.boolean(),
        truncated: z.boolean(),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async (input, extra) => {
      try {
        const response = await client.fetch({
          signal: extra.signal,
          url: input.url,
          ...(input.method === undefined ? {} : { method: input.method }),
          ...(input.headers === undefined ? {} : { headers: input.headers }),
          ...(input.body === undefined ? {} : { body: input.body }),
          injections: parseInjectionObject(input.injections),
          transport: 'mcp',
          agentId,
        });
        // Null prototype: an upstream header named `constructor` is a header, not Object's property.
        const headers: Record<string, string> = Object.create(null);
        // The proxy's own headers never reach here: its client keeps only the upstream's (see @agentsecrets/proxy).
        for (const [name, value] of response.headers) {
          headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
        }
        const text = response.body.toString('utf8');
        const truncated = text.length > maxBody;
        const body = truncated ? text.slice(0, maxBody) : text;
        return ok(
          { status: response.status, headers, body, redacted: response.redacted, truncated },
          `HTTP ${response.status}${response.redacted ? ' (credential echoes redacted)' : ''}${truncated ? ' (body truncated)' : ''}\n\n${body}`,
        );
      } catch (e) {
        return failure(e);
      }
    },
  );

  server.registerTool(
    'audit_log',
    {
      title: 'Audit log',
      description: 'Recent uses of credentials (by name only): time, method, target, secret, status.',
      inputSchema: {
        last: z.number().int().min(1).max(200).optional().describe('how many events, default 20'),
        secret: KEY.optional().describe('only events that used this secret'),
      },
      outputSchema: {
        events: z.array(
          z.object({
            ts: z.string(),
            transport: z.string(),
            method: z.string().nullable(),
            target: z.string().nullable(),
            secret_keys: z.array(z.string()),
            status: z.string(),
            reason: z.string().nullable(),
            http_status: z.number().nullable(),
            duration_ms: z.number(),
          }),
        ),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (input) => {
      try {
        const { readLast } = await loadAudit();
        const events = (
          await readLast(
            options.auditPath,
            input.last ?? 20,
            input.secret === undefined ? {} : { secret: input.secret },
          )
        ).map((e) => ({
          ts: e.ts,
          transport: e.transport,
          method: e.method,
          target: e.target,
          secret_keys: e.secret_keys,
          status: e.status,
          reason: e.reason,
          http_status: e.http_status,
          duration_ms: e.duration_ms,
        }));
        const lines = events.map(
          (e) =>
            `${e.ts} ${e.method ?? '-'} ${e.target ?? '-'} ${e.secret_keys.join(',') || '-'} ${e.status}${e.reason ? ` ${e.reason}` : ''}`,
        );
        return ok({ events }, lines.length ? lines.join('\n') : 'no audit events');
      } catch (e) {
        return failure(e);
      }
    },
  );

  server.registerTool(
    'status',
    {
      title: 'Status',
      description: 'Vault backend, workspace, project, allowlist size and whether the proxy is running.',
      inputSchema: {},
      outputSchema: {
        backend: z.string(),
        workspace: z.string(),
        project: z.string(),
        secrets: z.number().int(),
        allowlist_size: z.number().int(),
        proxy: z.object({ running: z.boolean(), url: z.string().nullable() }),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async () => {
      try {
        const s = await client.status();
        const structured = {
          backend: s.backend,
          workspace: s.workspace.name,
          project: s.project.name,
          secrets: s.secrets,
          allowlist_size: s.allowlist,
          proxy: { running: s.proxy !== null, url: s.proxy?.url ?? null },
        };
        return ok(
          structured,
          `backend ${s.backend}, project ${s.project.name} (${s.workspace.name}), ${s.secrets} secrets, ${s.allowlist} allowlist entries, proxy ${s.proxy ? `running at ${s.proxy.url}` : 'not running'}`,
        );
      } catch (e) {
        return failure(e);
      }
    },
  );

  return server;
}
