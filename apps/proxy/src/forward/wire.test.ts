// The run wire format's checks (hand-written, see shape.ts): what the proxy takes as a registration and what the CLI
// takes as a grant — exactly what the zod schemas they replace took.
import { describe, expect, it } from 'vitest';
import { RunGrantSchema, RunRequestSchema } from './wire.js';

const ok = (schema: typeof RunRequestSchema | typeof RunGrantSchema, v: unknown) =>
  schema.safeParse(v).success;

describe('run wire format', () => {
  it('takes a registration with an agent id, optional secret names and an optional flag, and nothing else', () => {
    expect(ok(RunRequestSchema, { agent: 'claude' })).toBe(true);
    expect(
      ok(RunRequestSchema, { agent: 'codex', only: ['GITHUB_TOKEN', 'A.b-c'], denyOtherHosts: true }),
    ).toBe(true);
    for (const bad of [
      {},
      { agent: '' },
      { agent: 'a b' },
      { agent: 'x'.repeat(129) },
      { agent: 'a', only: 'GITHUB_TOKEN' },
      { agent: 'a', only: ['1BAD'] },
      { agent: 'a', only: ['sk_live_value with spaces'] },
      { agent: 'a', only: Array.from({ length: 1025 }, (_, i) => `K${i}`) },
      { agent: 'a', denyOtherHosts: 'yes' },
      { agent: 'a', extra: 1 },
      [],
      null,
    ]) {
      expect(ok(RunRequestSchema, bad), JSON.stringify(bad).slice(0, 80)).toBe(false);
    }
  });

  it('takes a grant with its id, token, placeholders and CA certificate, and nothing else', () => {
    const grant = {
      id: `run_${'a'.repeat(32)}`,
      token: 't'.repeat(32),
      placeholders: { GITHUB_TOKEN: 'ph' },
      caCertificate: '-----BEGIN CERTIFICATE-----\n...',
    };
    expect(RunGrantSchema.parse(grant)).toEqual(grant);
    for (const bad of [
      { ...grant, id: 'run_x' },
      { ...grant, token: 'short' },
      { ...grant, token: 't'.repeat(257) },
      { ...grant, placeholders: { A: 1 } },
      { ...grant, placeholders: [] },
      { ...grant, caCertificate: 'PEM' },
      { ...grant, more: true },
    ]) {
      expect(ok(RunGrantSchema, bad)).toBe(false);
    }
    expect(() => RunGrantSchema.parse({ ...grant, caCertificate: 1 })).toThrow(/caCertificate/);
  });
});
