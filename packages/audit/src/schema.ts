import { AgentSecretsError } from '@agentsecrets/errors';
import { z } from 'zod';

// Every field is bounded to a charset that can hold names, codes and facts, and none can hold a credential: there is
// no free-text field, targets cannot carry a query or userinfo, and reasons are short codes.
const KEY = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/);
const TARGET = /^https?:\/\/[A-Za-z0-9.:[\]_-]+(\/[^\s?#@]*)?$/;

/** The transports that can use a credential. */
export const TRANSPORTS = ['proxy', 'mcp', 'cli', 'env', 'exec'] as const;

/** One audit event (SPEC.md §6). `.strict()`: unknown fields are refused. */
export const AuditEventSchema = z
  .object({
    ts: z.iso.datetime(),
    id: z.string().regex(/^ev_[0-9a-f]{32}$/),
    prev: z.string().regex(/^[0-9a-f]{64}$/),
    transport: z.enum(TRANSPORTS),
    agent_id: z
      .string()
      .regex(/^[A-Za-z0-9_.:@/-]{1,128}$/)
      .nullable(),
    method: z
      .string()
      .regex(/^[A-Z]{1,16}$/)
      .nullable(),
    target: z.string().max(2048).regex(TARGET).nullable(),
    secret_keys: z.array(KEY).max(64),
    styles: z.array(z.enum(['bearer', 'basic', 'header', 'query', 'body', 'form'])).max(6),
    status: z.enum(['OK', 'BLOCKED', 'ERROR']),
    reason: z
      .string()
      .regex(/^[A-Za-z0-9_ .:,/()-]{0,200}$/)
      .nullable(),
    http_status: z.number().int().min(100).max(599).nullable(),
    redacted: z.boolean(),
    duration_ms: z.number().min(0).max(86_400_000),
  })
  .strict();

/** An audit event as written: names and facts, never a value. */
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/** What a caller records; the log adds `ts`, `id` and `prev`. */
export type AuditEventInput = Omit<AuditEvent, 'ts' | 'id' | 'prev'>;

const InputSchema = AuditEventSchema.omit({ ts: true, id: true, prev: true });

/** Validates an event to record. The error names the offending field, never its content. */
export function validateInput(input: unknown): AuditEventInput {
  const parsed = InputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field =
    issue?.code === 'unrecognized_keys'
      ? issue.keys.join(', ')
      : (issue?.path.map(String).join('.') ?? '(event)');
  throw new AgentSecretsError(
    'AUDIT_EVENT_INVALID',
    issue?.code === 'unrecognized_keys'
      ? `an audit event may not have the field(s) ${field.slice(0, 120)}`
      : `the audit event field ${field.slice(0, 60)} is not allowed in that form`,
    { hint: 'audit events hold key names and policy facts only' },
  );
}
