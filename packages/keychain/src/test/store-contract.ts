import type { Namespace } from '@agentsecrets/names';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretValue } from '../secret-value.js';
import type { BackendName, SecretStore } from '../types.js';
import { uniqueId } from './helpers.js';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

async function readText(store: SecretStore, ns: Namespace, name: string): Promise<string | undefined> {
  const value = await store.get(ns, name);
  if (value === undefined) return undefined;
  try {
    return value.text();
  } finally {
    value.dispose();
  }
}

async function readBytes(store: SecretStore, ns: Namespace, name: string): Promise<Buffer | undefined> {
  const value = await store.get(ns, name);
  if (value === undefined) return undefined;
  try {
    return value.bytes();
  } finally {
    value.dispose();
  }
}

/**
 * The behaviour every {@link SecretStore} backend shares. Each backend's test file calls this with a way to obtain
 * its store; every namespace used is emptied again afterwards (which matters for a real keychain).
 */
export function describeStoreContract(
  backend: BackendName,
  getStore: () => SecretStore,
  options: { skip?: boolean } = {},
): void {
  describe.skipIf(options.skip === true)(`SecretStore contract: ${backend}`, () => {
    const workspace = uniqueId('ws');
    const used: Namespace[] = [];
    const ns = (project: string, ws = workspace): Namespace => {
      const space = { workspace: ws, project };
      used.push(space);
      return space;
    };

    afterAll(async () => {
      if (options.skip === true) return;
      const store = getStore();
      for (const space of used) {
        for (const name of await store.list(space)) await store.delete(space, name);
      }
    });

    it('reports its backend name', () => {
      expect(getStore().backend).toBe(backend);
    });

    it('stores a string and returns it as a SecretValue', async () => {
      const store = getStore();
      const space = ns('text');
      await store.set(space, 'API_KEY', 'k-123 ünïcödé ✓');
      const value = await store.get(space, 'API_KEY');
      expect(value).toBeInstanceOf(SecretValue);
      expect(value?.name).toBe('API_KEY');
      expect(value?.text()).toBe('k-123 ünïcödé ✓');
      expect(value?.length).toBe(Buffer.byteLength('k-123 ünïcödé ✓'));
      value?.dispose();
    });

    it('round-trips arbitrary bytes: NUL, invalid UTF-8, a BOM, the empty value', async () => {
      const store = getStore();
      const space = ns('bytes');
      const cases: Record<string, Buffer> = {
        NUL: Buffer.from([0x61, 0x00, 0x62]),
        INVALID_UTF8: Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80]),
        BOM: Buffer.from([0xef, 0xbb, 0xbf, 0x41]),
        EMPTY: Buffer.alloc(0),
        ALL_BYTES: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
        MARKER_LOOKALIKE: Buffer.from('agentsecrets:base64:aGVsbG8='),
      };
      for (const [name, bytes] of Object.entries(cases)) await store.set(space, name, bytes);
      for (const [name, bytes] of Object.entries(cases)) {
        expect(await readBytes(store, space, name), name).toEqual(bytes);
      }
    });

    it('stores a 16 KiB value', async () => {
      const store = getStore();
      const space = ns('large');
      const big = Buffer.from('x'.repeat(16 * 1024));
      await store.set(space, 'BIG', big);
      expect(await readBytes(store, space, 'BIG')).toEqual(big);
    });

    it('returns undefined and false for a secret that does not exist', async () => {
      const store = getStore();
      const space = ns('missing');
      expect(await store.get(space, 'NOPE')).toBeUndefined();
      expect(await store.has(space, 'NOPE')).toBe(false);
      expect(await store.delete(space, 'NOPE')).toBe(false);
      expect(await store.list(space)).toEqual([]);
    });

    it('replaces a value on a second set', async () => {
      const store = getStore();
      const space = ns('replace');
      await store.set(space, 'TOKEN', 'first');
      await store.set(space, 'TOKEN', 'second');
      expect(await readText(store, space, 'TOKEN')).toBe('second');
      expect(await store.list(space)).toEqual(['TOKEN']);
    });

    it('deletes: true once, then false, and the value is gone', async () => {
      const store = getStore();
      const space = ns('delete');
      await store.set(space, 'GONE', 'v');
      await store.set(space, 'KEPT', 'w');
      expect(await store.has(space, 'GONE')).toBe(true);
      expect(await store.delete(space, 'GONE')).toBe(true);
      expect(await store.delete(space, 'GONE')).toBe(false);
      expect(await store.get(space, 'GONE')).toBeUndefined();
      expect(await store.has(space, 'GONE')).toBe(false);
      expect(await readText(store, space, 'KEPT')).toBe('w');
    });

    it('lists names only, sorted by code unit', async () => {
      const store = getStore();
      const space = ns('list');
      for (const name of ['b.two', 'A_ONE', '_under', 'a-three', 'B'])
        await store.set(space, name, `value-of-${name}`);
      const names = await store.list(space);
      expect(names).toEqual(['A_ONE', 'B', '_under', 'a-three', 'b.two']);
      expect(JSON.stringify(names)).not.toContain('value-of-');
    });

    it('keeps namespaces apart: same name, different workspace or project', async () => {
      const store = getStore();
      const a = ns('alpha');
      const b = ns('beta');
      const c = ns('alpha', uniqueId('ws2'));
      await store.set(a, 'SHARED', 'in-a');
      await store.set(b, 'SHARED', 'in-b');
      await store.set(c, 'SHARED', 'in-c');
      await store.set(a, 'ONLY_A', 'a');
      expect(await readText(store, a, 'SHARED')).toBe('in-a');
      expect(await readText(store, b, 'SHARED')).toBe('in-b');
      expect(await readText(store, c, 'SHARED')).toBe('in-c');
      expect(await store.list(a)).toEqual(['ONLY_A', 'SHARED']);
      expect(await store.list(b)).toEqual(['SHARED']);
      expect(await store.has(b, 'ONLY_A')).toBe(false);
      expect(await store.delete(b, 'SHARED')).toBe(true);
      expect(await readText(store, a, 'SHARED')).toBe('in-a');
    });

    it('copies values in and out: changing the caller’s buffers changes nothing stored', async () => {
      const store = getStore();
      const space = ns('copies');
      const input = Buffer.from('original');
      await store.set(space, 'COPY', input);
      input.fill(0x7a);
      const first = await store.get(space, 'COPY');
      const out = first?.bytes();
      out?.fill(0);
      first?.dispose();
      expect(await readText(store, space, 'COPY')).toBe('original');
    });

    it('refuses invalid secret names with INVALID_SECRET_NAME on every method', async () => {
      const store = getStore();
      const space = ns('names');
      for (const bad of ['', '1ABC', 'HAS SPACE', 'KEY=value', 'a/b', 'x'.repeat(129), '../etc']) {
        expect(await codeOf(store.set(space, bad, 'v')), bad).toBe('INVALID_SECRET_NAME');
        expect(await codeOf(store.get(space, bad)), bad).toBe('INVALID_SECRET_NAME');
        expect(await codeOf(store.has(space, bad)), bad).toBe('INVALID_SECRET_NAME');
        expect(await codeOf(store.delete(space, bad)), bad).toBe('INVALID_SECRET_NAME');
      }
      expect(await store.list(space)).toEqual([]);
    });

    it('refuses invalid namespaces with INVALID_ARGUMENT', async () => {
      const store = getStore();
      for (const bad of [
        { workspace: '', project: 'p' },
        { workspace: 'w', project: '../p' },
        { workspace: 'w/x', project: 'p' },
        { workspace: 'w', project: 'p q' },
      ]) {
        expect(await codeOf(store.set(bad, 'OK', 'v'))).toBe('INVALID_ARGUMENT');
        expect(await codeOf(store.list(bad))).toBe('INVALID_ARGUMENT');
      }
    });
  });
}
