import { assertNamespace, assertSecretName, type Namespace } from '@agentsecrets/names';
import { toOwnedBytes } from './internal/bytes.js';
import { SecretValue } from './secret-value.js';
import type { SecretStore } from './types.js';

function namespaceKey(ns: Namespace): string {
  const checked = assertNamespace(ns);
  // Ids cannot contain `/`, so the joined key is unambiguous.
  return `${checked.workspace}/${checked.project}`;
}

/**
 * A store that keeps values in this process's memory only, for tests and for embedding AgentSecrets in a program
 * that supplies its own values. Nothing is written anywhere; everything is gone when the process exits. Values are
 * copied in and out, and zero-filled when deleted or replaced.
 *
 * @example
 * ```ts
 * const store = createMemoryStore();
 * await store.set({ workspace: 'local', project: 'demo' }, 'API_KEY', 'k-123');
 * ```
 */
export function createMemoryStore(): SecretStore {
  const spaces = new Map<string, Map<string, Buffer>>();
  let changes = 0;

  return {
    backend: 'memory',

    async get(ns, name) {
      const key = namespaceKey(ns);
      assertSecretName(name);
      const held = spaces.get(key)?.get(name);
      return held === undefined ? undefined : new SecretValue(name, held);
    },

    async set(ns, name, value) {
      const key = namespaceKey(ns);
      assertSecretName(name);
      const bytes = toOwnedBytes(value);
      let space = spaces.get(key);
      if (space === undefined) {
        space = new Map();
        spaces.set(key, space);
      }
      space.get(name)?.fill(0);
      space.set(name, bytes);
      changes += 1;
    },

    async delete(ns, name) {
      const key = namespaceKey(ns);
      assertSecretName(name);
      const space = spaces.get(key);
      const held = space?.get(name);
      if (space === undefined || held === undefined) return false;
      held.fill(0);
      space.delete(name);
      if (space.size === 0) spaces.delete(key);
      changes += 1;
      return true;
    },

    async list(ns) {
      const key = namespaceKey(ns);
      return [...(spaces.get(key)?.keys() ?? [])].sort();
    },

    async has(ns, name) {
      const key = namespaceKey(ns);
      assertSecretName(name);
      return spaces.get(key)?.has(name) ?? false;
    },

    revision() {
      return String(changes);
    },
  };
}
