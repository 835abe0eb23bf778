import { ENCODINGS } from '@agentsecrets/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Redactor } from './redactor.js';

type Headers = [string, string | string[]][];

const secret = (name: string, value: string) => ({ name, bytes: () => Buffer.from(value, 'latin1') });

/** A header's text scanned as the bytes it stands for (latin1: one character per byte, as a parser gives it). */
function scan(redactor: Redactor, text: string): { output: string; count: number } {
  const { output, count } = redactor.redactBuffer(Buffer.from(text, 'latin1'));
  return { output: output.toString('latin1'), count };
}

/** What redactHeaders must give: every name and every value scanned on its own. */
function oneByOne(redactor: Redactor, headers: Headers): { headers: [string, string][]; count: number } {
  let count = 0;
  const out: [string, string][] = [];
  for (const [name, value] of headers) {
    if (scan(redactor, name).count > 0) {
      count += 1;
      continue;
    }
    for (const v of typeof value === 'string' ? [value] : value) {
      const r = scan(redactor, v);
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

  it('reads header text as the bytes it stands for: latin1 from a parser, UTF-8 beyond a byte', () => {
    const value = 'pässwort-Ünïcode-0123';
    const unicode = new Redactor([{ name: 'U', bytes: () => Buffer.from(value, 'utf8') }]);
    const asParsed = `seen ${Buffer.from(value, 'utf8').toString('latin1')} here`;
    const got = unicode.redactHeaders([['x-echo', asParsed]]);
    expect(got.count).toBe(1);
    expect(Buffer.from(got.headers[0]![1], 'latin1').includes(Buffer.from(value, 'utf8'))).toBe(false);
    const beyond = unicode.redactHeaders([['x-echo', `€ ${value}`]]);
    expect(beyond.count).toBe(1);
    expect(beyond.headers[0]![1]).not.toContain(value);
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

  it('gives the same after any partial escape or long filler in the header before it', () => {
    const values = ['sk_live_Abc/12+x=Y"z', 'p@ss w\\rd&<x>%41+é"/\'', 'tok+en/with=pad=='];
    const hostile = new Redactor(
      values.map((v, i) => secret(`S${i}`, Buffer.from(v, 'utf8').toString('latin1'))),
    );
    const forms = values.flatMap((v) => {
      const t = Buffer.from(v, 'utf8').toString('latin1');
      return [t, ...deterministic.map((e) => e.encode(t)).filter((f): f is string => f !== undefined)];
    });
    const endings = [
      '\\',
      '\\u',
      '\\u00',
      '\\uD83D\\u',
      '%',
      '%4',
      '%25',
      '%5C',
      '%5c%75',
      '&',
      '&#',
      '&#x4',
      '&amp;#',
      '&#92;u00',
      '+',
      '==',
      'QUJD',
      '\xff',
      'a\t',
      'x'.repeat(9000),
    ];
    let cases = 0;
    for (const form of forms) {
      expect(scan(hostile, form).count, form).toBeGreaterThan(0);
      for (const end of endings) {
        for (const headers of [
          [
            ['x-a', `q${end}`],
            ['x-b', form],
          ],
          [['x-a', [`q${end}`, form]]],
          [
            [`x-${end.replace(/[^a-z0-9%&#+]/gi, '').slice(0, 40)}`, 'v'],
            ['x-b', form],
          ],
        ] as Headers[]) {
          expect(hostile.redactHeaders(headers), JSON.stringify(headers).slice(0, 200)).toEqual(
            oneByOne(hostile, headers),
          );
          cases += 1;
        }
      }
    }
    expect(cases).toBeGreaterThan(1000);
  });
});
