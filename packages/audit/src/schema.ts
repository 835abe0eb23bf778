import { AgentSecretsError } from '@agentsecrets/errors';
import { SECRET_NAME_PATTERN } from '@agentsecrets/names';
import { z } from 'zod';

// Every string field is bounded to a charset and length that hold names, codes and facts. None is free text: a
// target cannot carry a query, a fragment, userinfo or anything but digits after the host's colon; key names, agent
// ids and reasons are short tokens with no quotes, '=', '?', '&' or whitespace other than a plain space. What such a
// token spells is up to the caller (reasons are error codes by convention); what it cannot do is carry a header
// line, a query string or a JSON blob.

// scheme://host[:port]/path. Host: a DNS name (letters, digits, '-', '_', '.') or a bracketed IPv6 literal. The
// path is printable ASCII without '?', '#' or space — what WHATWG `URL.pathname` produces — and may hold '@'
// (`/@scope/pkg` on a registry): userinfo is excluded by the host rule, where '@' cannot appear.
const TARGET =
  /^[a-z][a-z0-9+.-]{0,15}:\/\/(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?(?:\/[\x21-\x22\x24-\x3e\x40-\x7e]*)?$/;

/** The transports that can use a credential. */
export const TRANSPORTS = ['proxy', 'mcp', 'cli', 'env', 'exec', 'run'] as const;

/** How a credential was placed in a request. */
export const STYLES = ['bearer', 'basic', 'header', 'query', 'body', 'form'] as const;

/** What happened: used, refused by policy, or failed. */
export const STATUSES = ['OK', 'BLOCKED', 'ERROR'] as const;

/**
 * One audit event (SPEC.md §6). `.strict()`: unknown fields are refused, so nothing can be smuggled in beside the
 * known ones, and no known field can hold a credential's value.
 */
export const AuditEventSchema = z
  .object({
    /** When the event was written (ISO 8601, UTC). */
    ts: z.iso.datetime(),
    /** `ev_` + 32 hex, derived from the line's own content, so an edited line no longer matches it. */
    id: z.string().regex(/^ev_[0-9a-f]{32}$/),
    /** SHA-256 (hex) of the previous line's exact bytes; 64 zeros for the first line ever. */
    prev: z.string().regex(/^[0-9a-f]{64}$/),
    transport: z.enum(TRANSPORTS),
    agent_id: z
      .string()
      .regex(/^[A-Za-z0-9_.:@/-]{1,128}$/)
      .nullable(),
    /** An HTTP method token, uppercase. */
    method: z
      .string()
      .regex(/^[A-Z]{1,16}$/)
      .nullable(),
    /** `scheme://host[:port]/path`: never a query, a fragment or userinfo. */
    target: z.string().max(2048).regex(TARGET).nullable(),
    secret_keys: z.array(z.string().regex(SECRET_NAME_PATTERN)).max(64),
    styles: z.array(z.enum(STYLES)).max(16),
    status: z.enum(STATUSES),
    /** An error code or a short fact (`DOMAIN_NOT_ALLOWED`, `owner_reveal`), never a message from elsewhere. */
    reason: z
      .string()
      .regex(/^[A-Za-z0-9_ .:,/()-]{0,200}$/)
      .nullable(),
    /** The upstream's status code: three digits, as HTTP/1.1 carries them (100–999). */
    http_status: z.number().int().min(100).max(999).nullable(),
    redacted: z.boolean(),
    /** How long the use took. No upper bound: an `exec` may run for days. Finite (zod 4 refuses Infinity). */
    duration_ms: z.number().min(0),
    /**
     * Present on a summary of repeated denials: how many further denials like this one (same transport, agent,
     * method, origin, keys, styles and reason) were refused since the last line written for them. Only BLOCKED
     * events are summarised; every use of a credential has a line of its own.
     */
    repeated: z.number().int().min(1).optional(),
    /**
     * What the caller said about itself (the transport and agent id a proxy request declares), kept apart from what the
     * recording process knows (`transport`, `agent_id`): anyone holding the session token can claim anything.
     */
    claims: z
      .object({
        transport: z.enum(TRANSPORTS).optional(),
        agent_id: z
          .string()
          .regex(/^[A-Za-z0-9_.:@/-]{1,128}$/)
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** An audit event as written: names and facts, never a value. */
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/** What a caller records; the log adds `ts`, `id` and `prev`. */
export type AuditEventInput = Omit<AuditEvent, 'ts' | 'id' | 'prev'>;

const InputSchema = AuditEventSchema.omit({ ts: true, id: true, prev: true });

// An unknown field's name is shown only when it looks like a field name: an object built with a value as its key
// must not put that value into an error message.
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

function fieldNames(keys: readonly PropertyKey[]): string {
  const shown = keys.map((k) => (typeof k === 'string' && FIELD_NAME.test(k) ? k : '(unnamed)'));
  return [...new Set(shown)].slice(0, 5).join(', ') + (shown.length > 5 ? ', …' : '');
}

/**
 * The first field a zod error is about, fit to show: an unknown field's name (when it looks like one), or the path
 * of a known field (`secret_keys.0`). Never the field's content.
 */
export function offendingField(error: z.ZodError): { unknown: boolean; field: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { unknown: false, field: '(event)' };
  if (issue.code === 'unrecognized_keys') return { unknown: true, field: fieldNames(issue.keys) };
  const path = issue.path.map((p) => (typeof p === 'number' ? String(p) : fieldNames([p]))).join('.');
  return { unknown: false, field: path === '' ? '(event)' : path };
}

/** Longest target kept in an event; a longer one is cut and marked (see {@link truncateTarget}). */
export const MAX_TARGET = 2048;

/**
 * A target longer than {@link MAX_TARGET} cut to fit, ending in `{truncated:N}` (N characters cut; a URL path never
 * holds a brace), so an event for a call with a very long path is recorded rather than refused.
 */
export function truncateTarget(target: string): string {
  if (target.length <= MAX_TARGET) return target;
  const mark = (cut: number) => `{truncated:${cut}}`;
  // The mark's length depends on the count it holds: settle on the longest prefix that fits exactly.
  let keep = MAX_TARGET - mark(target.length).length;
  while (keep + 1 + mark(target.length - keep - 1).length <= MAX_TARGET) keep += 1;
  return `${target.slice(0, keep)}${mark(target.length - keep)}`;
}

/** Validates an event to record (a long target is truncated first). The error names the offending field, never its content. */
export function validateInput(input: unknown): AuditEventInput {
  const target = (input as { target?: unknown } | null)?.target;
  const parsed = InputSchema.safeParse(
    typeof target === 'string' && target.length > MAX_TARGET
      ? { ...(input as object), target: truncateTarget(target) }
      : input,
  );
  if (parsed.success) return parsed.data;
  const { unknown, field } = offendingField(parsed.error);
  throw new AgentSecretsError(
    'AUDIT_EVENT_INVALID',
    unknown
      ? `an audit event has no field ${field}`
      : `the audit event field ${field} is missing or not in an allowed form`,
    { hint: 'audit events hold key names and policy facts only, never a value, a query string or a message' },
  );
}
