import { Readable } from 'node:stream';
import type { AuditLog } from '@agentsecrets/audit';
import { AgentSecretsError } from '@agentsecrets/errors';
import type { CallRequest, InjectionEngine } from '@agentsecrets/injection';
import { describe, expect, it } from 'vitest';
import { AuditTrail } from './audit-trail.js';
import { Calls } from './calls.js';
import type { PolicyInForce } from './policy-admin.js';

/** A log whose appends settle only when the test says so. */
function heldLog() {
  const appends: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  const log = {
    ready: async () => undefined,
    readyNow: () => false,
    close: async () => undefined,
    append: () =>
      new Promise<undefined>((resolve, reject) => {
        appends.push({ resolve: () => resolve(undefined), reject });
      }),
  };
  return { log: log as unknown as AuditLog, appends };
}

/**
 * An engine that answers `body` and reports the outcome a while after the body ends (after a turn of the event
 * loop), as an engine may: nothing in the core may take the end of the body for the outcome's write.
 */
function lateReportingEngine(body: string): InjectionEngine {
  const engine = {
    call: async (request: CallRequest) => {
      const stream = Readable.from([Buffer.from(body)]);
      stream.once('end', () =>
        setImmediate(() =>
          request.onOutcome?.({
            method: 'GET',
            target: 'https://api.example.com/v1/x',
            secretKeys: ['API_KEY'],
            styles: ['bearer'],
            durationMs: 1,
            status: 'OK',
            reason: null,
            httpStatus: 200,
            redacted: false,
          }),
        ),
      );
      return { status: 200, headers: [], headerRedactions: 0, body: stream, redactions: () => 0 };
    },
    close: async () => undefined,
  };
  return engine as unknown as InjectionEngine;
}

const policy = { fresh: async () => ({}), freshNow: () => undefined } as unknown as PolicyInForce;
const request = {
  url: 'https://api.example.com/v1/x',
  method: 'GET',
  headers: {},
  injections: [{ key: 'API_KEY', style: 'bearer' as const, target: undefined }],
  transport: 'cli' as const,
};
const settledYet = async (p: Promise<unknown>): Promise<boolean> => {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
  return settled;
};

describe('Calls', () => {
  it("settles a call's recorded promise with its audit write, however late the engine reports the outcome", async () => {
    const { log, appends } = heldLog();
    const calls = new Calls({ audit: new AuditTrail(log), engine: lateReportingEngine('ok'), policy });
    const response = await calls.call(request);
    for await (const _ of response.body) {
      // read to the end
    }
    expect(await settledYet(response.recorded)).toBe(false);
    expect(appends).toHaveLength(1);
    appends[0]!.resolve();
    await expect(response.recorded).resolves.toBeUndefined();
  });

  it('withholds a buffered answer whose audit write fails after the body ended', async () => {
    const { log, appends } = heldLog();
    const calls = new Calls({
      audit: new AuditTrail(log),
      engine: lateReportingEngine('the answer'),
      policy,
    });
    const fetched = calls.fetch(request);
    for (let i = 0; i < 50 && appends.length === 0; i += 1) await new Promise((r) => setImmediate(r));
    appends[0]!.reject(new AgentSecretsError('AUDIT_IO', 'cannot append to the audit log'));
    await expect(fetched).rejects.toMatchObject({ code: 'AUDIT_IO' });
  });
});
