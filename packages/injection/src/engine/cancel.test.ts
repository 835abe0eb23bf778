import { EventEmitter } from 'node:events';
import { AgentSecretsError } from '@agentsecrets/errors';
import { SecretValue } from '@agentsecrets/keychain';
import { startUpstream, type Upstream } from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowlistEntry } from '../policy/index.js';
import { Redactor } from '../redact/index.js';
import { parseInjectionObject } from '../spec/spec.js';
import { InjectionEngine } from './engine.js';

// The proxy cancels with an EventEmitter (cheaper than an AbortSignal); undici reads its `aborted` before it sends
// and listens for `abort` after. Both halves are checked against an upstream that never answers.
let upstream: Upstream;
let engine: InjectionEngine;

beforeAll(async () => {
  upstream = await startUpstream();
  engine = new InjectionEngine({
    policy: {
      allowlist: () => [parseAllowlistEntry(`http://127.0.0.1:${upstream.port}`)],
      bindings: () => [],
    },
    secrets: {
      resolve: async (names) =>
        new Map(names.map((n) => [n, new SecretValue(n, Buffer.from('sk_live_CANCEL_canary_0123'))])),
      stored: async (names) => names,
      redactor: () => new Redactor([]),
    },
    timeouts: { connectMs: 2000, headersMs: 400, idleMs: 400 },
  });
});

afterAll(async () => {
  await engine.close();
  await upstream.close();
});

describe('an emitter as the cancel signal', () => {
  const url = () => `http://127.0.0.1:${upstream.port}/hang`;
  const injections = parseInjectionObject({ bearer: 'API_KEY' });

  it('sends nothing when it is already aborted', async () => {
    const before = upstream.requests.length;
    const early = Object.assign(new EventEmitter(), { aborted: true });
    await expect(engine.call({ url: url(), injections, signal: early })).rejects.toBeInstanceOf(
      AgentSecretsError,
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(upstream.requests.length).toBe(before);
  });

  it('ends a call that waits for its answer, well before the headers timeout', async () => {
    const before = upstream.requests.length;
    const late = new EventEmitter();
    const pending = engine.call({ url: url(), injections, signal: late });
    while (upstream.requests.length === before) await new Promise((r) => setTimeout(r, 5));
    late.emit('abort');
    const started = performance.now();
    await expect(pending).rejects.toBeInstanceOf(AgentSecretsError);
    // This engine's headers timeout is 400 ms.
    expect(performance.now() - started).toBeLessThan(350);
    expect(upstream.requests.length).toBe(before + 1);
  });
});
