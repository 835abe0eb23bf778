import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AgentSecretsError,
  ERROR_CODES,
  exitCodeFor,
  httpStatusFor,
  isAgentSecretsError,
  toAgentSecretsError,
} from './index.js';

describe('AgentSecretsError', () => {
  it('carries a stable code, a hint and its kind', () => {
    const err = new AgentSecretsError('DOMAIN_NOT_ALLOWED', 'api.evil.com is not allowed', {
      hint: 'add it',
    });
    expect(err.code).toBe('DOMAIN_NOT_ALLOWED');
    expect(err.kind).toBe('policy');
    expect(err.hint).toBe('add it');
    expect(err).toBeInstanceOf(Error);
    expect(isAgentSecretsError(err)).toBe(true);
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      code: 'DOMAIN_NOT_ALLOWED',
      message: 'api.evil.com is not allowed',
      hint: 'add it',
    });
  });

  it('never forwards the text of a foreign error', () => {
    const canary = 'sk_live_CANARY_0123456789';
    const foreign = new TypeError(`fetch failed for https://x.test/?key=${canary}`);
    const err = toAgentSecretsError(foreign);
    expect(err.code).toBe('INTERNAL_ERROR');
    expect(err.message).toBe('unexpected internal error (TypeError)');
    expect(JSON.stringify(err)).not.toContain(canary);
    expect(err.cause).toBe(foreign);
    expect(toAgentSecretsError(err)).toBe(err);
    expect(toAgentSecretsError('boom').message).toBe('unexpected internal error (string)');
    expect(inspect(err.toJSON())).not.toContain(canary);
  });

  it('maps every code to the exit codes and statuses of the spec', () => {
    expect(exitCodeFor('INVALID_ARGUMENT')).toBe(2);
    expect(exitCodeFor('DOMAIN_NOT_ALLOWED')).toBe(3);
    expect(exitCodeFor('SECRET_NOT_FOUND')).toBe(4);
    expect(exitCodeFor('UPSTREAM_TIMEOUT')).toBe(5);
    expect(exitCodeFor('VAULT_LOCKED')).toBe(6);
    expect(exitCodeFor('INTERNAL_ERROR')).toBe(1);
    expect(exitCodeFor('CANCELLED')).toBe(130);
    expect(exitCodeFor('COMMAND_NOT_FOUND')).toBe(127);
    expect(httpStatusFor('UPSTREAM_TIMEOUT')).toBe(504);
    expect(httpStatusFor('UPSTREAM_RESET')).toBe(502);
    expect(httpStatusFor('SSRF_BLOCKED')).toBe(403);
    for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect([1, 2, 3, 4, 5, 6, 127, 130]).toContain(exitCodeFor(code));
    }
  });
});
