import { stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEventInput, AuditEventSchema, AuditLog, GENESIS_HASH } from './index.js';
import { event, tempLog } from './test/helpers.js';

const CANARY = 'sk_live_AUDIT_CANARY_123456';

let path: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path, cleanup } = await tempLog());
});
afterEach(() => cleanup());

async function rejection(
  input: unknown,
): Promise<{ code: string; message: string; hint?: string } | undefined> {
  return new AuditLog({ path }).append(input as AuditEventInput).then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string; hint?: string },
  );
}

function full(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ts: new Date().toISOString(),
    id: `ev_${'a'.repeat(32)}`,
    prev: GENESIS_HASH,
    ...event(1),
    ...extra,
  };
}

describe('the audit event schema', () => {
  it('accepts a complete event and refuses one with an extra field', () => {
    expect(AuditEventSchema.safeParse(full()).success).toBe(true);
    expect(AuditEventSchema.safeParse(full({ value: 'x' })).success).toBe(false);
    expect(AuditEventSchema.safeParse(full({ prev: 'not-a-hash' })).success).toBe(false);
  });

  it.each([
    'https://api.example.com/v1/items',
    'https://api.example.com',
    'http://127.0.0.1:8080/v1/items',
    'https://[::1]:8443/',
    'https://registry.npmjs.org/@types/node',
    'https://api.example.com/v1/a%20b/c=d;e',
    'wss://stream.example.com/socket',
  ])('accepts the target %s', (target) => {
    expect(AuditEventSchema.safeParse(full({ target })).success).toBe(true);
  });

  it.each([
    ['a query', `https://api.example.com/v1?key=${CANARY}`],
    ['an empty query', 'https://api.example.com/v1?'],
    ['a fragment', `https://api.example.com/v1#${CANARY}`],
    ['userinfo', `https://user:${CANARY}@api.example.com/`],
    ['userinfo without a password', `https://${CANARY}@api.example.com/`],
    ['a value where the port goes', `https://api.example.com:${CANARY}/`],
    ['a space', `https://api.example.com/v1 ${CANARY}`],
    ['a newline', `https://api.example.com/v1\nAuthorization: ${CANARY}`],
    ['no scheme', 'api.example.com/v1'],
  ])('refuses a target with %s, without echoing it', async (_, target) => {
    const err = await rejection({ ...event(1), target });
    expect(err?.code).toBe('AUDIT_EVENT_INVALID');
    expect(err?.message).toBe('the audit event field target is missing or not in an allowed form');
    expect(`${err?.message} ${err?.hint}`).not.toContain(CANARY);
  });

  it.each([
    ['value', CANARY],
    ['authorization', `Bearer ${CANARY}`],
    ['headers', { authorization: CANARY }],
    ['body', CANARY],
  ])('refuses an unknown field %s, naming the field and never its content', async (field, content) => {
    const err = await rejection({ ...event(1), [field]: content });
    expect(err?.code).toBe('AUDIT_EVENT_INVALID');
    expect(err?.message).toBe(`an audit event has no field ${field}`);
    expect(`${err?.message} ${err?.hint}`).not.toContain(CANARY);
  });

  it('does not echo an unknown field whose name is itself a value', async () => {
    const err = await rejection({ ...event(1), [`Bearer ${CANARY}`]: true });
    expect(err?.code).toBe('AUDIT_EVENT_INVALID');
    expect(err?.message).toBe('an audit event has no field (unnamed)');
    const long = await rejection({ ...event(1), [CANARY.replace(/[^A-Za-z_]/g, 'x').repeat(3)]: true });
    expect(long?.message).not.toContain('sk_live');
  });

  it.each([
    ['reason', `leaked "${CANARY}"`],
    ['reason', `token=${CANARY}`],
    ['reason', `line\n${CANARY}`],
    ['reason', 'A'.repeat(201)],
    ['agent_id', `agent\n${CANARY}`],
    ['agent_id', ''],
    ['method', 'get'],
    ['method', `GET ${CANARY}`],
    ['secret_keys', [`not a key ${CANARY}`]],
    ['secret_keys', ['1STARTS_WITH_DIGIT']],
    ['styles', ['cookie']],
    ['status', 'FINE'],
    ['transport', 'smtp'],
    ['http_status', 99],
    ['http_status', 200.5],
    ['duration_ms', -1],
    ['duration_ms', Number.POSITIVE_INFINITY],
    ['redacted', 'no'],
    ['target', undefined],
  ])('refuses %s = %j, naming only the field', async (field, content) => {
    const err = await rejection({ ...event(1), [field]: content });
    expect(err?.code).toBe('AUDIT_EVENT_INVALID');
    expect(err?.message).toMatch(
      new RegExp(`^the audit event field ${field}(\\.0)? is missing or not in an allowed form$`),
    );
    expect(`${err?.message} ${err?.hint}`).not.toContain(CANARY);
  });

  it('accepts the facts callers record: codes in reason, long exec durations, null where nothing applies', async () => {
    const log = new AuditLog({ path });
    const written = await log.append(
      event(1, {
        transport: 'exec',
        agent_id: 'claude-code/1.2:session@host',
        method: null,
        target: null,
        styles: [],
        status: 'ERROR',
        reason: 'SECRET_NOT_FOUND,VAULT_LOCKED',
        http_status: null,
        duration_ms: 9 * 24 * 3600 * 1000,
      }),
    );
    expect(written?.reason).toBe('SECRET_NOT_FOUND,VAULT_LOCKED');
    await expect(log.append(event(2, { reason: 'owner_reveal' }))).resolves.toMatchObject({
      reason: 'owner_reveal',
    });
    const claimed = await log.append(event(3, { claims: { transport: 'cli', agent_id: 'owner' } }));
    expect(claimed?.claims).toEqual({ transport: 'cli', agent_id: 'owner' });
  });

  it('keeps claims to the same short tokens as the facts', async () => {
    for (const claims of [{ agent_id: `x\n${CANARY}` }, { transport: 'smtp' }, { note: CANARY }]) {
      const err = await rejection({ ...event(1), claims });
      expect(err?.code).toBe('AUDIT_EVENT_INVALID');
      expect(`${err?.message} ${err?.hint}`).not.toContain(CANARY);
    }
  });

  it('writes nothing when an event is refused', async () => {
    expect((await rejection({ ...event(1), value: CANARY }))?.code).toBe('AUDIT_EVENT_INVALID');
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
