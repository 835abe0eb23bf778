import { describe, expect, it } from 'vitest';
import { findLeaks, leakForms } from './leaks.js';
import { echoAllForms } from './upstream.js';

const CANARY = 'canary-SECRET-7f3a9b2c1d';

describe('leak search', () => {
  it('finds the canary in every form the hostile upstream writes it', () => {
    const echoed = echoAllForms({
      method: 'GET',
      url: '/echo',
      headers: {},
      rawHeaders: ['Authorization', `Bearer ${CANARY}`],
      body: Buffer.alloc(0),
    });
    const found = findLeaks(echoed, CANARY);
    for (const form of ['raw', 'hex', 'HEX', 'base64@0', 'base64@1', 'base64@2']) {
      expect(found, form).toContain(form);
    }
    const odd = 'canary "SECRET" 7f3a/9b+2c?';
    const oddEcho = echoAllForms({
      method: 'GET',
      url: '/',
      headers: {},
      rawHeaders: ['X', odd],
      body: Buffer.alloc(0),
    });
    expect(findLeaks(oddEcho, odd)).toEqual(expect.arrayContaining(['raw', 'json', 'url']));
  });

  it('finds base64 at every offset inside a larger blob, and nothing in unrelated text', () => {
    for (let pad = 0; pad < 6; pad += 1) {
      const blob = Buffer.concat([Buffer.alloc(pad, 7), Buffer.from(CANARY), Buffer.alloc(5, 9)]);
      expect(findLeaks(blob.toString('base64'), CANARY).length, `pad ${pad}`).toBeGreaterThan(0);
      expect(findLeaks(blob.toString('base64url'), CANARY).length, `pad ${pad}`).toBeGreaterThan(0);
    }
    expect(findLeaks('nothing to see here [REDACTED_BY_AGENTSECRETS]', CANARY)).toEqual([]);
    expect(leakForms(CANARY).length).toBeGreaterThanOrEqual(8);
  });
});
