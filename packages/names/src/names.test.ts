import { isAgentSecretsError } from '@agentsecrets/errors';
import { describe, expect, it } from 'vitest';
import { assertNamespace, assertSecretName } from './names.js';

function errorOf(fn: () => unknown): { code?: string; message: string; hint?: string | undefined } {
  try {
    fn();
  } catch (error) {
    if (isAgentSecretsError(error)) return { code: error.code, message: error.message, hint: error.hint };
    throw error;
  }
  throw new Error('did not throw');
}

describe('assertSecretName', () => {
  it('accepts names that fit an env var, a keychain account and a JSON key', () => {
    for (const ok of ['A', '_', 'STRIPE_KEY', 'a.b-c_d', 'x'.repeat(128), 'K9']) {
      expect(assertSecretName(ok)).toBe(ok);
    }
  });

  it('refuses other names with INVALID_SECRET_NAME and a hint', () => {
    for (const bad of ['', '9LIVES', '-x', '.env', 'a b', 'a/b', 'ä', 'x'.repeat(129), 'a\nb']) {
      const error = errorOf(() => assertSecretName(bad));
      expect(error.code, JSON.stringify(bad)).toBe('INVALID_SECRET_NAME');
      expect(error.hint).toMatch(/starts with a letter/);
    }
  });

  it('never quotes the rejected string, which may be a value pasted as a name', () => {
    const pasted = 'STRIPE_KEY=sk_live_51Habcdefghijk';
    const error = errorOf(() => assertSecretName(pasted));
    expect(error.message).toContain('`=`');
    expect(`${error.message} ${error.hint}`).not.toContain('sk_live_51Habcdefghijk');
    const spaced = errorOf(() => assertSecretName('my secret value'));
    expect(spaced.message).not.toContain('secret value');
  });

  it('refuses a non-string', () => {
    expect(errorOf(() => assertSecretName(42 as unknown as string)).code).toBe('INVALID_SECRET_NAME');
  });
});

describe('assertNamespace', () => {
  it('accepts ids and returns a frozen copy', () => {
    const ns = assertNamespace({ workspace: 'local', project: '0f3a.b-c_d' });
    expect(ns).toEqual({ workspace: 'local', project: '0f3a.b-c_d' });
    expect(Object.isFrozen(ns)).toBe(true);
  });

  it('refuses ids that could escape a service name or path, with INVALID_ARGUMENT naming the field', () => {
    for (const [workspace, project, field] of [
      ['', 'p', 'workspace'],
      ['w', '', 'project'],
      ['..', 'p', 'workspace'],
      ['w', 'a/b', 'project'],
      ['w', '.hidden', 'project'],
      ['w', 'x'.repeat(129), 'project'],
    ] as const) {
      const error = errorOf(() => assertNamespace({ workspace, project }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain(field);
    }
    expect(errorOf(() => assertNamespace(null as never)).code).toBe('INVALID_ARGUMENT');
  });
});
