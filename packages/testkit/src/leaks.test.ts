import { describe, expect, it } from 'vitest';
import { ENCODINGS, readBack, upper } from './escapes.js';
import { findLeaks } from './leaks.js';
import { echoAllForms } from './upstream.js';

const CANARY = 'canary-SECRET-7f3a9b2c1d';
const ODD = 'p@ss"w0rd\\&<x>%2+/= é';

describe('leak search', () => {
  it('finds the canary in every form the hostile upstream writes it', () => {
    const echoed = echoAllForms({
      method: 'GET',
      url: '/echo',
      headers: {},
      rawHeaders: ['Authorization', `Bearer ${CANARY}`],
      body: Buffer.alloc(0),
    });
    expect(findLeaks(echoed, CANARY)).toEqual(['raw']);
    // Each echoed form alone.
    for (const line of echoed.split('\n').filter((l) => /^(hex|HEX|b64|json|url)/.test(l))) {
      expect(findLeaks(line, CANARY).length, line.slice(0, 8)).toBeGreaterThan(0);
    }
  });

  it('reads back every composition of up to three encodings, and upper-cased echoes', () => {
    const names = ENCODINGS.map((e) => e.name);
    let checked = 0;
    for (const a of ENCODINGS) {
      for (const b of ENCODINGS) {
        const once = a.encode(Buffer.from(ODD).toString('latin1'));
        const twice = once === undefined ? undefined : b.encode(once);
        if (twice === undefined) continue;
        const text = `before ${twice} after`;
        expect(readBack(Buffer.from(text, 'latin1'), ODD).length, `${a.name}>${b.name}`).toBeGreaterThan(0);
        if (!a.name.startsWith('b64') && !b.name.startsWith('b64')) {
          expect(readBack(Buffer.from(upper(text), 'latin1'), ODD).length).toBeGreaterThan(0);
        }
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(names.length * 4);
  });

  it('finds base64 at every offset inside a larger blob, and nothing in unrelated text', () => {
    for (let pad = 0; pad < 6; pad += 1) {
      const blob = Buffer.concat([Buffer.alloc(pad, 7), Buffer.from(CANARY), Buffer.alloc(5, 9)]);
      expect(findLeaks(blob.toString('base64'), CANARY).length, `pad ${pad}`).toBeGreaterThan(0);
      expect(findLeaks(blob.toString('base64url'), CANARY).length, `pad ${pad}`).toBeGreaterThan(0);
      expect(
        findLeaks(`x:${blob.toString('base64').replace(/.{8}/g, '$&\r\n')} y`, CANARY).length,
      ).toBeGreaterThan(0);
    }
    expect(findLeaks('nothing to see here [REDACTED_BY_AGENTSECRETS]', CANARY)).toEqual([]);
  });
});
