import { createMemoryStore, type SecretStore, SecretValue } from '@agentsecrets/keychain';
import { describe, expect, it } from 'vitest';
import { SecretCache } from './secret-cache.js';

const NS = { workspace: 'local', project: 'cache-test' };
const scope = { namespace: NS, name: 'cache-test' };
const A = 'sk_live_CACHE_CANARY_A_0123456789';
const B = 'sk_live_CACHE_CANARY_B_9876543210';

/** The same store without a revision, as the OS keychain is: values are read for each call. */
function withoutRevision(store: SecretStore): SecretStore {
  const { revision: _, ...rest } = store;
  return rest as SecretStore;
}

async function storeWith(values: Record<string, string>): Promise<SecretStore> {
  const store = createMemoryStore();
  for (const [name, value] of Object.entries(values)) await store.set(NS, name, value);
  return store;
}

describe('SecretCache', () => {
  it('keeps one redactor while the values injected are the ones it was built from', async () => {
    for (const store of [await storeWith({ A, B }), withoutRevision(await storeWith({ A, B }))]) {
      const cache = new SecretCache(store, scope, 60_000);
      const first = await cache.redactorFor(await cache.resolve(['A']));
      const second = await cache.redactorFor(await cache.resolve(['A']));
      expect(second).toBe(first);
      expect(first.redactString(`x ${A} ${B}`).output).not.toContain('CANARY');
    }
  });

  it('never takes a value of the same name but other bytes for the kept one', async () => {
    for (const store of [await storeWith({ A }), withoutRevision(await storeWith({ A }))]) {
      const cache = new SecretCache(store, scope, 60_000);
      const kept = await cache.redactorFor(await cache.resolve(['A']));
      // A value injected under A that the kept redactor was not built from (rotated since, read for this call).
      const other = new Map([['A', new SecretValue('A', Buffer.from(B))]]);
      const redactor = await cache.redactorFor(other);
      expect(redactor).not.toBe(kept);
      expect(redactor.redactString(`echo ${B}`).output).not.toContain(B);
      expect(redactor.redactString(`echo ${A}`).output).not.toContain(A);
    }
  });

  it('injects and redacts a value changed in the store on the very next call', async () => {
    const store = await storeWith({ A });
    const cache = new SecretCache(store, scope, 60_000);
    await cache.redactorFor(await cache.resolve(['A']));
    await store.set(NS, 'A', B);
    const now = await cache.resolve(['A']);
    expect(now.get('A')?.text()).toBe(B);
    expect((await cache.redactorFor(now)).redactString(`echo ${B}`).output).not.toContain(B);
  });

  it('answers without waiting only while the store says at once that nothing changed', async () => {
    const store = await storeWith({ A, B });
    const cache = new SecretCache(store, scope, 60_000);
    // Nothing kept yet: the values are loaded.
    expect(cache.resolve(['A'])).toBeInstanceOf(Promise);
    const first = await cache.resolve(['A']);
    const redactor = await cache.redactorFor(first);
    // Kept and current: a map and the kept redactor, no promise.
    const kept = cache.resolve(['A']);
    expect(kept).toBeInstanceOf(Map);
    expect(cache.redactorFor(kept as Map<string, SecretValue>)).toBe(redactor);
    // Changed in the store behind the cache's back (another process): loaded again, the new value injected.
    await store.set(NS, 'A', `${B}_rotated`);
    const changed = cache.resolve(['A']);
    expect(changed).toBeInstanceOf(Promise);
    expect((await changed).get('A')?.text()).toBe(`${B}_rotated`);
    // Deleted: refused on the very next call, with or without waiting.
    await store.delete(NS, 'A');
    await expect(Promise.resolve().then(() => cache.resolve(['A']))).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
    });
    // A store that cannot say at once (an unopened vault) is always waited for.
    const slow = { ...store, revision: async () => store.revision!() as string };
    const patient = new SecretCache(slow, scope, 60_000);
    await patient.resolve(['B']);
    expect(patient.resolve(['B'])).toBeInstanceOf(Promise);
  });
});
