import { format, inspect } from 'node:util';
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { SecretValue } from './secret-value.js';

const CANARY = 'canary-9f3c2e71d4b8a605';

function make(): SecretValue {
  return new SecretValue('STRIPE_KEY', Buffer.from(CANARY));
}

describe('SecretValue', () => {
  it('gives the value back on purpose: bytes(), text(), length', () => {
    const v = make();
    expect(v.text()).toBe(CANARY);
    expect(v.bytes().toString()).toBe(CANARY);
    expect(v.length).toBe(CANARY.length);
    expect(v.name).toBe('STRIPE_KEY');
  });

  it('shows [secret NAME] to util.inspect, with or without custom inspection, at any depth', () => {
    const v = make();
    expect(inspect(v)).toBe('[secret STRIPE_KEY]');
    expect(inspect({ nested: { deeper: [v] } }, { depth: 10 })).toContain('[secret STRIPE_KEY]');
    expect(inspect({ nested: { deeper: [v] } }, { depth: 10 })).not.toContain(CANARY);
    // Even with custom inspectors turned off, private (#) fields are not visible to inspect.
    const raw = inspect(v, { customInspect: false, showHidden: true, depth: 10, getters: true });
    expect(raw).not.toContain(CANARY);
    expect(raw).not.toContain(Buffer.from(CANARY).toString('hex').slice(0, 8));
  });

  it('shows [secret NAME] in template strings, String(), concatenation and util.format', () => {
    const v = make();
    expect(`${v}`).toBe('[secret STRIPE_KEY]');
    expect(String(v)).toBe('[secret STRIPE_KEY]');
    // biome-ignore lint/style/useTemplate: testing the + operator on purpose
    expect('x' + v).toBe('x[secret STRIPE_KEY]');
    for (const spec of ['%s', '%o', '%O', '%j']) {
      const out = format(spec, v);
      expect(out, spec).toContain('[secret STRIPE_KEY]');
      expect(out, spec).not.toContain(CANARY);
    }
  });

  it('shows [secret NAME] to JSON.stringify', () => {
    const v = make();
    expect(JSON.stringify(v)).toBe('"[secret STRIPE_KEY]"');
    expect(JSON.stringify({ v })).toBe('{"v":"[secret STRIPE_KEY]"}');
  });

  it('prints nothing of the value through console.log, console.error or console.dir', () => {
    const v = make();
    const captured: string[] = [];
    const original = { log: console.log, error: console.error, dir: console.dir };
    const capture = (...args: unknown[]) => {
      captured.push(format(...args));
    };
    console.log = capture;
    console.error = capture;
    console.dir = (obj: unknown) => {
      captured.push(inspect(obj));
    };
    try {
      console.log(v);
      console.log('value: %s', v);
      console.error({ secret: v });
      console.dir(v);
    } finally {
      Object.assign(console, original);
    }
    const all = captured.join('\n');
    expect(captured).toHaveLength(4);
    expect(all).toContain('[secret STRIPE_KEY]');
    expect(all).not.toContain(CANARY);
  });

  it('has no own enumerable property but its name: Object.keys/entries, spread, getOwnPropertyNames', () => {
    const v = make();
    expect(Object.keys(v)).toEqual(['name']);
    expect(Object.entries(v)).toEqual([['name', 'STRIPE_KEY']]);
    expect({ ...v }).toEqual({ name: 'STRIPE_KEY' });
    expect(Object.getOwnPropertyNames(v)).toEqual(['name']);
    expect(Object.getOwnPropertySymbols(v)).toEqual([]);
  });

  it('does not carry the value through structuredClone or v8.serialize', () => {
    const v = make();
    const clone: unknown = structuredClone(v);
    expect(clone).toEqual({ name: 'STRIPE_KEY' });
    expect(JSON.stringify(clone)).not.toContain(CANARY);
    expect(serialize(v).includes(Buffer.from(CANARY))).toBe(false);
  });

  it('copies the bytes it is given and hands out copies', () => {
    const input = Buffer.from(CANARY);
    const v = new SecretValue('K', input);
    input.fill(0);
    expect(v.text()).toBe(CANARY);
    const out = v.bytes();
    out.fill(0);
    expect(v.text()).toBe(CANARY);
  });

  it('dispose() zero-fills and forgets the value; later reads throw, a second dispose is harmless', () => {
    const v = make();
    v.dispose();
    expect(v.disposed).toBe(true);
    expect(() => v.text()).toThrow(/after dispose/);
    expect(() => v.bytes()).toThrow(/after dispose/);
    expect(() => v.length).toThrow(/after dispose/);
    expect(() => v.dispose()).not.toThrow();
    expect(String(v)).toBe('[secret STRIPE_KEY]');
  });

  it('hands out copies in buffers of their own, not slices of the shared pool', () => {
    // Zero-filling a pooled slice would be fine, but a pooled allocation can outlive dispose() in the pool's slab.
    const v = make();
    const held = v.bytes();
    expect(held.buffer.byteLength).toBe(held.byteLength);
  });
});
