import { AgentSecretsError } from '@agentsecrets/errors';
import { describe, expect, it } from 'vitest';
import { canonicalPlacements, formatPlacement, parsePlacement, placementAllows } from './placement.js';
import { parseInjectionSpec } from './spec.js';

const allows = (placement: string, injection: string) =>
  placementAllows(parsePlacement(placement), parseInjectionSpec(injection));

describe('placements', () => {
  it('parse and format every style, checked by the injection rules', () => {
    for (const text of [
      'bearer',
      'basic',
      'header:X-Api-Key',
      'query:api_Key',
      'body:a.b[0]["c.d"]',
      'form:f',
    ]) {
      expect(formatPlacement(parsePlacement(text))).toBe(text);
    }
    for (const bad of [
      'cookie:x',
      'query',
      'bearer:x',
      'header:Bad Name',
      'header:Host',
      'body:a..b',
      'form:\n',
    ]) {
      expect(() => parsePlacement(bad), bad).toThrow(AgentSecretsError);
    }
    expect(canonicalPlacements(['query:b', 'bearer', 'query:b', 'body:a'])).toEqual([
      'bearer',
      'body:a',
      'query:b',
    ]);
  });

  it('allow only their own style and target', () => {
    expect(allows('query:api_key', 'query:api_key=K')).toBe(true);
    expect(allows('query:api_key', 'query:api_Key=K')).toBe(false);
    expect(allows('query:api_key', 'form:api_key=K')).toBe(false);
    expect(allows('header:X-Api-Key', 'header:x-api-key=K')).toBe(true);
    expect(allows('header:X-Api-Key', 'header:X-Other=K')).toBe(false);
    expect(allows('body:a.b[0]', 'body:a["b"][0]=K')).toBe(true);
    expect(allows('body:a.b', 'body:a.b.c=K')).toBe(false);
    expect(allows('body:a.b', 'body:a=K')).toBe(false);
    expect(allows('bearer', 'bearer=K')).toBe(true);
    expect(allows('bearer', 'basic=K')).toBe(false);
  });
});
