import { AgentSecretsError } from '@agentsecrets/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createInjectionSpec,
  formatInjectionSpec,
  parseCliInjection,
  parseInjectionObject,
  parseInjectionSpec,
  validateInjections,
} from './spec.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof AgentSecretsError ? e.code : 'FOREIGN';
  }
  return undefined;
}

describe('injection specs', () => {
  it('parses the styles from every entry point of this package to the same specs (the proxy headers: apps/proxy protocol.test.ts)', () => {
    const fromObject = parseInjectionObject({
      bearer: 'A_KEY',
      'header:X-Api-Key': 'B_KEY',
      'query:api_Key': 'C_KEY',
      'body:a.b[0].c': 'D_KEY',
    });
    const fromCli = validateInjections([
      parseCliInjection('body', 'a.b[0].c=D_KEY'),
      parseCliInjection('query', 'api_Key=C_KEY'),
      parseCliInjection('header', 'X-Api-Key=B_KEY'),
      parseCliInjection('bearer', 'A_KEY'),
    ]);
    const expected = [
      { style: 'bearer', target: undefined, key: 'A_KEY' },
      { style: 'header', target: 'X-Api-Key', key: 'B_KEY' },
      { style: 'query', target: 'api_Key', key: 'C_KEY' },
      { style: 'body', target: 'a.b[0].c', key: 'D_KEY' },
    ];
    expect(fromObject).toEqual(expected);
    expect(fromCli).toEqual(expected);
  });

  it('keeps target names exactly as sent', () => {
    expect(parseInjectionSpec('form:f=K2')).toEqual({ style: 'form', target: 'f', key: 'K2' });
    expect(parseInjectionSpec('basic=K3')).toEqual({ style: 'basic', target: undefined, key: 'K3' });
  });

  it('refuses malformed, conflicting and dangerous specs with typed errors', () => {
    expect(codeOf(() => parseInjectionSpec('cookie:x=K'))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjectionSpec('header=K'))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjectionSpec('bearer:x=K'))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjectionSpec('query:p=not a key'))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjectionSpec('nothing'))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjectionSpec('header:Host=K'))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjectionSpec('header:Content-Length=K'))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjectionSpec('header:Bad Name=K'))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjectionObject({ bearer: 'A', basic: 'B' }))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseInjectionObject({ bearer: 'A', 'header:authorization': 'B' }))).toBe(
      'INVALID_INJECTION',
    );
    expect(codeOf(() => parseInjectionObject({ 'body:a': 'A', 'form:b': 'B' }))).toBe('INVALID_INJECTION');
    expect(codeOf(() => parseCliInjection('query', 'K'))).toBe('INVALID_INJECTION');
  });

  it('never echoes a value pasted where a secret name belongs', () => {
    const pasted = 'sk_live_PASTED/VALUE+abc==';
    for (const attempt of [
      () => parseInjectionSpec(`bearer=${pasted}`),
      () => parseInjectionSpec(pasted),
      () => parseCliInjection('query', pasted),
      () => parseCliInjection('bearer', pasted),
      () => parseInjectionObject({ 'header:X-Key': pasted }),
    ]) {
      try {
        attempt();
        throw new Error('expected a refusal');
      } catch (e) {
        expect((e as AgentSecretsError).code).toBe('INVALID_INJECTION');
        expect(`${(e as Error).message} ${(e as AgentSecretsError).hint}`).not.toContain('PASTED');
      }
    }
  });

  it('never echoes more than a bounded, printable piece of bad input', () => {
    try {
      parseInjectionSpec(`${'x'.repeat(500)}\n=K`);
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(200);
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it('round-trips the textual form (property)', () => {
    const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,20}$/);
    const target = fc.stringMatching(/^[A-Za-z0-9_.\-[\]]{1,20}$/);
    fc.assert(
      fc.property(fc.constantFrom('bearer', 'basic', 'query', 'body', 'form'), target, key, (style, t, k) => {
        const spec = createInjectionSpec(style, style === 'bearer' || style === 'basic' ? undefined : t, k);
        expect(parseInjectionSpec(formatInjectionSpec(spec))).toEqual(spec);
      }),
    );
  });

  it('either parses or throws a typed error, never anything else (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const code = codeOf(() => parseInjectionSpec(text));
        expect(code === undefined || code === 'INVALID_INJECTION').toBe(true);
      }),
    );
  });
});
