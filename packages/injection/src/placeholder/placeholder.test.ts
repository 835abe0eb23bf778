import { describe, expect, it } from 'vitest';
import { checkPlacements, parseDestination } from '../policy/index.js';
import { applyInjections } from '../spec/apply.js';
import { validateInjections } from '../spec/spec.js';
import { locatePlaceholders } from './locate.js';
import { findPlaceholders, makePlaceholders } from './placeholders.js';

const VALUE = 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB';
const secret = (name: string, value: string) => ({ name, bytes: () => Buffer.from(value, 'utf8') });

describe('placeholders', () => {
  it('keep only a public prefix and a fixed length, never the value', () => {
    const set = makePlaceholders([
      { name: 'GH', publicHead: VALUE.slice(0, 16) },
      { name: 'OTHER', publicHead: 'hunter2-long-secret' },
    ]);
    const gh = set.byName.get('GH')!;
    expect(gh.startsWith(`ghp_${set.tag}`)).toBe(true);
    expect(gh).toHaveLength(40);
    expect(gh).not.toBe(VALUE);
    expect(set.byName.get('OTHER')).toHaveLength(48);
    expect(set.byName.get('OTHER')!.startsWith(set.tag)).toBe(true);
    const again = makePlaceholders([{ name: 'GH', publicHead: VALUE }]);
    expect(again.byName.get('GH')).not.toBe(gh);
    const text = `a ${gh} b ${set.byName.get('OTHER')} ${set.tag}cut`;
    expect(findPlaceholders(set, text).map((h) => h.name)).toEqual(['GH', 'OTHER']);
  });

  it('are located as the styles the policy judges, and replaced only there', () => {
    const set = makePlaceholders([
      { name: 'A', publicHead: 'x' },
      { name: 'B', publicHead: 'y' },
    ]);
    const a = set.byName.get('A')!;
    const b = set.byName.get('B')!;
    const url = new URL(`https://api.example.com/v1?key=${a}&x=1`);
    const headers: [string, string][] = [
      ['Authorization', `Basic ${Buffer.from(`x-access-token:${b}`).toString('base64')}`],
      ['X-Api-Key', a],
    ];
    const body = Buffer.from(JSON.stringify({ auth: { token: b }, list: [a] }));
    const specs = locatePlaceholders(set, { url, headers, body }, 'application/json; charset=utf-8');
    expect(specs.map((s) => `${s.style}:${s.target ?? ''}=${s.key}`).sort()).toEqual(
      ['basic:=B', 'body:auth.token=B', 'body:list[0]=A', 'header:X-Api-Key=A', 'query:key=A'].sort(),
    );
    const dest = parseDestination(url.href);
    // Without an owner's binding, only the header styles may go: the query and body placements are refused.
    expect(() => checkPlacements('A', [], dest, 'POST', specs)).toThrow(/may not be injected as query:key/);
    const { request } = applyInjections(
      { url, method: 'POST', headers, body },
      validateInjections(specs),
      new Map([
        ['A', secret('A', 'va+lue/"A"')],
        ['B', secret('B', 'v\u00e9lue-B')],
      ]),
    );
    expect(request.url.search).toBe(`?key=${encodeURIComponent('va+lue/"A"')}&x=1`);
    expect(Buffer.from(request.headers[0]![1].slice(6), 'base64').toString('utf8')).toBe(
      'x-access-token:v\u00e9lue-B',
    );
    expect(request.headers[1]).toEqual(['X-Api-Key', 'va+lue/"A"']);
    expect(JSON.parse(request.body!.toString('utf8'))).toEqual({
      auth: { token: 'v\u00e9lue-B' },
      list: ['va+lue/"A"'],
    });
  });

  it('are refused where no policy could judge them', () => {
    const set = makePlaceholders([{ name: 'A', publicHead: 'x' }]);
    const a = set.byName.get('A')!;
    const at =
      (url: string, headers: [string, string][] = [], body?: string, type?: string) =>
      () =>
        locatePlaceholders(
          set,
          { url: new URL(url), headers, body: body === undefined ? undefined : Buffer.from(body) },
          type,
        );
    expect(at(`https://h/${a}`)).toThrow(/URL path/);
    expect(at(`https://h/?${a}=1`)).toThrow(/parameter name/);
    expect(at('https://h/', [], `text ${a}`, 'text/plain')).toThrow(/text\/plain body/);
    expect(at('https://h/', [], `{"${a}":1}`, 'application/json')).toThrow(/member name/);
    expect(at('https://h/', [['Proxy-Authorization', a]])).toThrow(/proxy-authorization/);
    expect(at('https://h/', [['Accept', 'x']], 'no placeholder', 'text/plain')()).toEqual([]);
  });
});
