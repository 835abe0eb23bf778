import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileVault } from './file-vault.js';
import { DIST_URL, FAST_KDF, run, tempDir, writeScript } from './test/helpers.js';

const WRITERS = 6;
const KEYS_PER_WRITER = 8;
const PASS = 'concurrency passphrase';
const NS = { workspace: 'local', project: 'race' };

const WRITER_SCRIPT = `
import { openFileVault } from ${JSON.stringify(DIST_URL)};
const [path, writer, count] = process.argv.slice(2);
const store = await openFileVault({
  path,
  passphrase: process.env.TEST_PASSPHRASE,
  kdfParams: ${JSON.stringify(FAST_KDF)},
  lockTimeoutMs: 60000,
});
for (let i = 0; i < Number(count); i++) {
  await store.set(${JSON.stringify(NS)}, 'W' + writer + '_K' + i, 'value-' + writer + '-' + i);
}
console.log(JSON.stringify({ ok: true }));
`;

describe('file vault with several processes writing at once', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterEach(async () => {
    await remove();
  });

  it('loses no write: every key of every writer is present afterwards, and the vault was created once', async () => {
    const script = await writeScript(dir, WRITER_SCRIPT);
    const path = join(dir, 'home', 'vault.json');
    // No vault exists yet: the writers also race to create it.
    const results = await Promise.all(
      Array.from({ length: WRITERS }, (_, writer) =>
        run(process.execPath, [script, path, String(writer), String(KEYS_PER_WRITER)], {
          env: { ...process.env, TEST_PASSPHRASE: PASS },
        }),
      ),
    );
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }

    const store = await openFileVault({ path, passphrase: PASS });
    const expected = Array.from({ length: WRITERS }, (_, w) =>
      Array.from({ length: KEYS_PER_WRITER }, (_, i) => `W${w}_K${i}`),
    )
      .flat()
      .sort();
    expect(await store.list(NS)).toEqual(expected);
    for (let w = 0; w < WRITERS; w++) {
      for (let i = 0; i < KEYS_PER_WRITER; i++) {
        expect((await store.get(NS, `W${w}_K${i}`))?.text()).toBe(`value-${w}-${i}`);
      }
    }
    // No lock or temp file is left behind.
    expect(await readdir(join(dir, 'home'))).toEqual(['vault.json']);
  });
});
