import { AgentSecretsError } from '@agentsecrets/errors';
import { SecretValue } from '@agentsecrets/keychain';
import { describe, expect, it } from 'vitest';
import { parseAllowlistEntry } from '../policy/index.js';
import { Redactor } from '../redact/index.js';
import { parseInjectionObject } from '../spec/spec.js';
import { type CallOutcome, type EngineSecrets, InjectionEngine } from './engine.js';

// What an agent or a user gives where a name belongs may be a value: a name that is not a stored secret must come
// back in no error and go into no audit record; a stored one is recorded as before. (A public address literal: no
// lookup; every call here is refused before anything is sent.)
const PASTED = 'sk_live_PastedValue_0123456789abcdef';
const STORED = 'STRIPE_KEY';

async function attempt(secrets: EngineSecrets, url: string, injections: Record<string, string>) {
  const engine = new InjectionEngine({
    policy: { allowlist: () => [parseAllowlistEntry('https://93.184.216.34')], bindings: () => [] },
    secrets,
  });
  const outcomes: CallOutcome[] = [];
  const error = await engine
    .call({ url, injections: parseInjectionObject(injections), onOutcome: (o) => outcomes.push(o) })
    .then(
      () => undefined,
      (e: unknown) => e as AgentSecretsError,
    );
  await engine.close();
  return { error: error!, outcome: outcomes[0]! };
}

const store = (names: string[], failing?: AgentSecretsError): EngineSecrets => ({
  resolve: async (wanted) => {
    if (failing !== undefined) throw failing;
    if (wanted.some((n) => !names.includes(n))) throw new AgentSecretsError('SECRET_NOT_FOUND', 'not stored');
    return new Map(
      wanted.map((n) => [n, new SecretValue(n, Buffer.from('sk_live_value_of_the_stored_key'))]),
    );
  },
  stored: async (wanted) => {
    if (failing !== undefined) throw failing;
    return wanted.filter((n) => names.includes(n));
  },
  redactor: () => new Redactor([]),
});

describe('a name that is not a stored secret', () => {
  it('is neither quoted nor recorded, whichever rule refuses the call', async () => {
    for (const [url, injections] of [
      ['https://93.184.216.34/v1', { bearer: PASTED }],
      ['https://93.184.216.34/v1', { bearer: STORED, 'header:X-Other': PASTED }],
      // a query injection no binding allows, to a host off the allowlist: the rules that would quote it
      ['https://elsewhere.example.org/', { 'query:k': PASTED }],
    ] as const) {
      const { error, outcome } = await attempt(store([STORED]), url, injections);
      expect(error.code).toBe('SECRET_NOT_FOUND');
      expect(`${error.message} ${error.hint} ${JSON.stringify(error)}`).not.toContain(PASTED);
      expect(outcome.reason).toBe('SECRET_NOT_FOUND');
      expect(outcome.secretKeys).not.toContain(PASTED);
    }
  });

  it('leaves a stored name recorded and its refusal as it was', async () => {
    const { error, outcome } = await attempt(store([STORED]), 'https://elsewhere.example.org/', {
      bearer: STORED,
    });
    expect(error.code).toBe('DOMAIN_NOT_ALLOWED');
    expect(outcome.secretKeys).toEqual([STORED]);
  });

  it('when the store fails, keeps its error and records no name', async () => {
    const down = new AgentSecretsError('VAULT_UNAVAILABLE', 'the keychain did not answer');
    const { error, outcome } = await attempt(store([STORED], down), 'https://93.184.216.34/v1', {
      bearer: PASTED,
    });
    expect(error.code).toBe('VAULT_UNAVAILABLE');
    expect(outcome.secretKeys).toEqual([]);
  });
});
