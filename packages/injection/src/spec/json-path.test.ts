import { AgentSecretsError } from '@agentsecrets/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBodyPath, setJsonPath } from './json-path.js';

describe('JSON body paths', () => {
  it('parses members, indexes and quoted names', () => {
    expect(parseBodyPath('a.b[0].c')).toEqual(['a', 'b', 0, 'c']);
    expect(parseBodyPath('x[1][2]')).toEqual(['x', 1, 2]);
    expect(parseBodyPath('["a.b"].c')).toEqual(['a.b', 'c']);
    for (const bad of ['', 'a.', '.a', 'a..b', 'a[x]', 'a[1', 'a[-1]']) {
      expect(() => parseBodyPath(bad), bad).toThrow(AgentSecretsError);
    }
  });

  it('sets nested values and keeps the rest of the body byte-for-byte', () => {
    const body = '{ "id": 12345678901234567890, "z": 1.50, "a": {"list": [ {"c": 0}, 2 ], "k": "v"} }';
    const out = setJsonPath(body, 'a.list[0].c', 's3cr3t-value');
    expect(out).toBe(
      '{ "id": 12345678901234567890, "z": 1.50, "a": {"list": [ {"c": "s3cr3t-value"}, 2 ], "k": "v"} }',
    );
    expect(setJsonPath('{"b":1}', 'a.token', 'v')).toBe('{"b":1,"a":{"token":"v"}}');
    expect(setJsonPath('', 'auth.key', 'v')).toBe('{"auth":{"key":"v"}}');
    expect(setJsonPath('{}', 'k', 'v')).toBe('{"k":"v"}');
    expect(setJsonPath('{"l":[1]}', 'l[1]', 'v')).toBe('{"l":[1,"v"]}');
    expect(setJsonPath('{"l":[]}', 'l[0].x', 'v')).toBe('{"l":[{"x":"v"}]}');
    expect(setJsonPath('{"k":"a","k":"b"}', 'k', 'v')).toBe('{"k":"a","k":"v"}');
    expect(setJsonPath('{"q":"\\"}\\\\","k":{}}', 'k.x', 'v')).toBe('{"q":"\\"}\\\\","k":{"x":"v"}}');
    expect(JSON.parse(setJsonPath('{}', 'k', 'quote " and \\ and \n'))).toEqual({
      k: 'quote " and \\ and \n',
    });
  });

  it('refuses paths that do not fit the body', () => {
    for (const [body, path] of [
      ['[1]', 'a'],
      ['{"a":1}', 'a[0]'],
      ['{"a":[1]}', 'a[5]'],
      ['not json', 'a'],
      ['{"a":"s"}', 'a.b'],
    ] as const) {
      let code: string | undefined;
      try {
        setJsonPath(body, path, 'SECRET-VALUE-XYZ');
      } catch (e) {
        code = (e as AgentSecretsError).code;
        expect((e as Error).message).not.toContain('SECRET-VALUE-XYZ');
      }
      expect(code, `${body} ${path}`).toBe('BODY_PATH_INVALID');
    }
  });

  it('gives the same document as setting the path on the parsed value (property)', () => {
    const name = fc.stringMatching(/^[a-z]{1,4}$/);
    fc.assert(
      fc.property(
        fc.dictionary(name, fc.jsonValue()),
        fc.array(name, { minLength: 1, maxLength: 4 }),
        fc.string(),
        (doc, path, value) => {
          const text = JSON.stringify(doc, null, 1);
          let out: string;
          try {
            out = setJsonPath(text, path.join('.'), value);
          } catch (e) {
            expect((e as AgentSecretsError).code).toBe('BODY_PATH_INVALID');
            return;
          }
          const expected = JSON.parse(text) as Record<string, unknown>;
          let cur: Record<string, unknown> = expected;
          for (const seg of path.slice(0, -1)) {
            if (cur[seg] === undefined) cur[seg] = {};
            cur = cur[seg] as Record<string, unknown>;
          }
          cur[path.at(-1)!] = value;
          expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(expected)));
        },
      ),
    );
  });
});
