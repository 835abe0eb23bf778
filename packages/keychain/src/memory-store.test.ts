import { describe, expect, it } from 'vitest';
import { createMemoryStore } from './memory-store.js';
import { describeStoreContract } from './test/store-contract.js';

const store = createMemoryStore();
describeStoreContract('memory', () => store);

describe('memory store', () => {
  it('answers its revision at once, changed by every write and delete', async () => {
    const store = createMemoryStore();
    const first = store.revision!();
    expect(typeof first).toBe('string');
    await store.set({ workspace: 'w', project: 'p' }, 'K', 'one');
    const second = store.revision!();
    expect(second).not.toBe(first);
    await store.delete({ workspace: 'w', project: 'p' }, 'K');
    expect(store.revision!()).not.toBe(second);
  });

  it('keeps separate stores separate', async () => {
    const a = createMemoryStore();
    const b = createMemoryStore();
    const ns = { workspace: 'w', project: 'p' };
    await a.set(ns, 'K', 'v');
    expect(await b.has(ns, 'K')).toBe(false);
    expect(await b.list(ns)).toEqual([]);
  });

  it('refuses a value that is neither bytes nor a string', async () => {
    const ns = { workspace: 'w', project: 'p' };
    await expect(createMemoryStore().set(ns, 'K', 42 as unknown as string)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
