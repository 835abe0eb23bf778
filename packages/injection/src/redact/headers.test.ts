import { ENCODINGS } from '@agentsecrets/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Redactor } from './redactor.js';

type Headers = [string, string | string[]][];

const secret = (name: string, value: string) => ({ name, bytes: () => Buffer.from(value, 'latin1') });

/** What redactHeaders must give: every name and every value scanned on its own (how it was done before). */
function oneByOne(redactor: Redactor, headers: Headers): { headers: [string, string][]; count: number } {
  let count = 0;
  const out: [string, string][] = [];
  for (const [name, value] of headers) {
    if (redactor.redactString(name).count > 0) {
      count += 1;
      continue;
    }
    for (const v of typeof value === 'string' ? [value] : value) {
      const r = redactor.redactString(v);
      count += r.count;
      out.push([name, r.output]);
    }
  }
  return { headers: out, count };
}

const deterministic = ENCODINGS.filter((e) => e.deterministic && e.name !== 'b64-mime');

describe('Redactor.redactHeaders', () => {
  const redactor = new Redactor([secret('A', 'sk_live_Abc/12+x=Y"z'), secret('B', 'ghp_0123456789abcdef')]);

  it('passes clean headers on as they are, repeated values kept, with one scan', () => {
    const headers: Headers = [
      ['content-type', 'application/json'],
      ['set-cookie', ['a=1', 'b=2']],
    ];
    expect(redactor.redactHeaders(headers)).toEqual({
      headers: [
        ['content-type', 'application/json'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ],
      count: 0,
    });
  });

  it('drops a header whose name holds a secret and redacts values, counting both', () => {
    const headers: Headers = [
      ['x-ghp_0123456789abcdef', ['1', '2']],
      ['x-echo', ['token ghp_0123456789abcdef', 'plain']],
    ];
    const got = redactor.redactHeaders(headers);
    expect(got).toEqual(oneByOne(redactor, headers));
    expect(got.count).toBe(2);
    expect(got.headers.map(([n]) => n)).toEqual(['x-echo', 'x-echo']);
    expect(JSON.stringify(got)).not.toContain('ghp_0123456789abcdef');
  });

  it('finds nothing in a match that only the joined scan sees (a value that spans two headers)', () => {
    // A secret with a NUL in it: written across a name and its value, the one scan of all of them reads it.
    const spanning = new Redactor([secret('N', 'left-half\0right-half')]);
    const headers: Headers = [['x-left-half', 'right-half and more']];
    expect(spanning.redactHeaders(headers)).toEqual({
      headers: [['x-left-half', 'right-half and more']],
      count: 0,
    });
  });

  it('gives what scanning each name and value on its own gives, for any headers and encoded secrets', () => {
    const visible = fc.string({
      unit: fc.constantFrom(...'abcXYZ019 -_.:/=+%&;"\\'.split('')),
      maxLength: 30,
    });
    const form = fc.tuple(fc.constantFrom('A', 'B'), fc.constantFrom(...deterministic.map((e) => e.name)));
    const part = fc.tuple(visible, fc.option(form), visible);
    const text =
      (values: Record<string, string>) =>
      ([pre, f, post]: [string, [string, string] | null, string]) => {
        if (f === null) return pre + post;
        const encoded = deterministic.find((e) => e.name === f[1])!.encode(values[f[0]]!);
        return `${pre}${encoded ?? values[f[0]]}${post}`;
      };
    const values = { A: 'sk_live_Abc/12+x=Y"z', B: 'ghp_0123456789abcdef' };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(part, fc.array(part, { minLength: 1, maxLength: 3 })), { maxLength: 6 }),
        (raw) => {
          const seen = new Set<string>();
          const headers: Headers = [];
          for (const [n, vs] of raw) {
            const name = text(values)(n);
            if (seen.has(name)) continue;
            seen.add(name);
            headers.push([name, vs.length === 1 ? text(values)(vs[0]!) : vs.map(text(values))]);
          }
          expect(redactor.redactHeaders(headers)).toEqual(oneByOne(redactor, headers));
        },
      ),
      { numRuns: 500 },
    );
  });
});
