import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSecretStore } from './open-store.js';
import { probeOsKeychain } from './os-store.js';
import { IN_CI, tempDir } from './test/helpers.js';

const NS = { workspace: 'local', project: 'open' };

describe('openSecretStore', () => {
  let home: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir: home, remove } = await tempDir());
  });
  afterEach(async () => {
    await remove();
  });

  it('uses the backend option first, over AGENTSECRETS_KEYCHAIN', async () => {
    const store = await openSecretStore({ home, backend: 'memory', env: { AGENTSECRETS_KEYCHAIN: 'file' } });
    expect(store.backend).toBe('memory');
  });

  it('uses AGENTSECRETS_KEYCHAIN when no option is given, trimming and ignoring case', async () => {
    const store = await openSecretStore({ home, env: { AGENTSECRETS_KEYCHAIN: ' Memory ' } });
    expect(store.backend).toBe('memory');
  });

  it('refuses an unknown backend: INVALID_ARGUMENT from the option, CONFIG_INVALID from the environment', async () => {
    await expect(openSecretStore({ home, backend: 'plaintext' as never, env: {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      hint: expect.stringContaining('os, file, memory'),
    });
    await expect(
      openSecretStore({ home, env: { AGENTSECRETS_KEYCHAIN: 'plaintext' } }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      hint: expect.stringContaining('os, file, memory'),
    });
  });

  it('opens the file vault at home/vault.json with AGENTSECRETS_PASSPHRASE', async () => {
    const env = { AGENTSECRETS_KEYCHAIN: 'file', AGENTSECRETS_PASSPHRASE: 'env passphrase' };
    const store = await openSecretStore({ home, env });
    expect(store.backend).toBe('file');
    await store.set(NS, 'K', 'v');
    expect((await stat(join(home, 'vault.json'))).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(await readFile(join(home, 'vault.json'), 'utf8'));
    // Created through openSecretStore, a vault gets the default (full-strength) Argon2id parameters.
    expect(doc.key.params).toEqual({ memoryKiB: 65536, iterations: 3, parallelism: 4 });
    const again = await openSecretStore({
      home,
      env: { AGENTSECRETS_KEYCHAIN: 'file' },
      passphrase: () => 'env passphrase',
    });
    expect((await again.get(NS, 'K'))?.text()).toBe('v');
  });

  it('needs a passphrase for the file backend: PASSPHRASE_REQUIRED, never a plaintext fallback', async () => {
    await expect(
      openSecretStore({ home, env: { AGENTSECRETS_KEYCHAIN: 'file', AGENTSECRETS_PASSPHRASE: '' } }),
    ).rejects.toMatchObject({ code: 'PASSPHRASE_REQUIRED' });
    await expect(stat(join(home, 'vault.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('needs a home directory', async () => {
    await expect(openSecretStore({ home: '', env: {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

// Choosing `os` by default needs a keychain that answers; the no-keychain side runs in a child process in
// os-store.test.ts. Without a Secret Service there is nothing to choose; CI always has one.
const keychainAnswers = await probeOsKeychain();
describe.skipIf(!keychainAnswers && !IN_CI)('openSecretStore with a keychain', () => {
  it('defaults to os when nothing is configured and a keychain answers', async () => {
    expect((await openSecretStore({ home: '/nonexistent', env: {} })).backend).toBe('os');
    expect(
      (await openSecretStore({ home: '/nonexistent', env: { AGENTSECRETS_KEYCHAIN: 'os' } })).backend,
    ).toBe('os');
  });
});
