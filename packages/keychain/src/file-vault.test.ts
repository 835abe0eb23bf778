import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deriveKey, seal } from '@agentsecrets/crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openFileVault } from './file-vault.js';
import { loadKeytar } from './internal/keytar.js';
import { entryAad } from './internal/vault-format.js';
import { probeOsKeychain } from './os-store.js';
import { FAST_KDF, IN_CI, tempDir } from './test/helpers.js';
import { describeStoreContract } from './test/store-contract.js';
import type { SecretStore } from './types.js';

const PASS = 'correct horse battery staple';
const NS = { workspace: 'local', project: 'demo' };

// The shared contract, on one vault for the whole suite.
let contractStore: SecretStore;
let contractDir: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  contractDir = await tempDir();
  contractStore = await openFileVault({
    path: join(contractDir.dir, 'vault.json'),
    passphrase: PASS,
    kdfParams: FAST_KDF,
  });
});
afterAll(async () => {
  await contractDir.remove();
});
describeStoreContract('file', () => contractStore);

describe('file vault', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let path: string;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir());
    path = join(dir, 'home', 'vault.json');
  });
  afterEach(async () => {
    await remove();
  });

  const openVault = (passphrase: string | (() => string) = PASS) =>
    openFileVault({ path, passphrase, kdfParams: FAST_KDF });
  const readJson = async () => JSON.parse(await readFile(path, 'utf8'));
  const writeJson = (doc: unknown) => writeFile(path, JSON.stringify(doc));

  it('removes temporary files left by killed writers, and keeps one a live writer is still writing', async () => {
    const store = await openVault();
    await store.set(NS, 'A', 'first value');
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => dead.on('exit', resolve));
    const home = join(dir, 'home');
    const left = [`.vault.json.${dead.pid}.0123456789ab.tmp`, `.vault.json.${process.pid}.ba9876543210.tmp`];
    const live = `.vault.json.${process.ppid}.aaaaaaaaaaaa.tmp`;
    for (const name of [...left, live]) await writeFile(join(home, name), 'x'.repeat(1000));
    await store.set(NS, 'B', 'second value');
    // Beside them, this process's owner file of the vault's lock, which stays while the process lives (withFileLock).
    const ownLock = new RegExp(`^vault\\.json\\.lock\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`);
    expect((await readdir(home)).filter((n) => n.endsWith('.tmp') && !ownLock.test(n))).toEqual([live]);
    expect((await store.get(NS, 'A'))?.text()).toBe('first value');
  });

  it('creates the vault on first use: directory 0700, file 0600, no value in clear', async () => {
    const store = await openVault();
    await store.set(NS, 'API_KEY', 'value-in-clear-would-be-bad');
    expect((await stat(join(dir, 'home'))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('value-in-clear-would-be-bad');
    expect(text).not.toContain(Buffer.from('value-in-clear-would-be-bad').toString('base64').slice(0, 12));
    const doc = JSON.parse(text);
    expect(doc).toMatchObject({
      format: 'agentsecrets-vault',
      version: 1,
      key: { source: 'passphrase', kdf: 'argon2id', params: FAST_KDF },
      entries: [{ workspace: 'local', project: 'demo', name: 'API_KEY' }],
    });
  });

  it('reopens with the same passphrase and sees what was stored', async () => {
    const first = await openVault();
    await first.set(NS, 'K', 'v1');
    const second = await openVault();
    expect((await second.get(NS, 'K'))?.text()).toBe('v1');
  });

  it('sees writes made through another store on the same file (values are not cached)', async () => {
    const a = await openVault();
    const b = await openVault();
    await a.set(NS, 'K', 'from-a');
    expect((await b.get(NS, 'K'))?.text()).toBe('from-a');
    await b.set(NS, 'K', 'from-b');
    expect((await a.get(NS, 'K'))?.text()).toBe('from-b');
    expect(await a.delete(NS, 'K')).toBe(true);
    expect(await b.has(NS, 'K')).toBe(false);
  });

  it('revision changes with every write, through this store or another on the same file', async () => {
    const a = await openVault();
    const b = await openVault();
    await a.set(NS, 'K', 'v1');
    const seen = new Set([await a.revision!()]);
    expect(await b.revision!()).toBe(await a.revision!());
    for (const write of [() => b.set(NS, 'K', 'v2'), () => b.set(NS, 'K', 'v3'), () => b.delete(NS, 'K')]) {
      await write();
      const next = await a.revision!();
      expect(seen.has(next)).toBe(false);
      seen.add(next);
    }
    expect(await a.revision!()).toBe(await a.revision!());
    // Answered at once (one stat), and changed by a rewrite of the same size too.
    const now = a.revision!();
    expect(typeof now).toBe('string');
    await b.set(NS, 'K', 'v4');
    await b.set(NS, 'K', 'v5');
    expect(a.revision!()).not.toBe(now);
  });

  it('refuses a wrong passphrase with PASSPHRASE_INCORRECT, before touching any entry', async () => {
    await (await openVault()).set(NS, 'K', 'v');
    const before = await readFile(path);
    await expect(openVault('wrong passphrase')).rejects.toMatchObject({ code: 'PASSPHRASE_INCORRECT' });
    expect(await readFile(path)).toEqual(before);
  });

  it('asks for a missing passphrase with PASSPHRASE_REQUIRED and a hint', async () => {
    await expect(openFileVault({ path, kdfParams: FAST_KDF })).rejects.toMatchObject({
      code: 'PASSPHRASE_REQUIRED',
      hint: expect.stringContaining('AGENTSECRETS_PASSPHRASE'),
    });
    await openVault();
    await expect(openFileVault({ path })).rejects.toMatchObject({ code: 'PASSPHRASE_REQUIRED' });
    await expect(openFileVault({ path, passphrase: '' })).rejects.toMatchObject({
      code: 'PASSPHRASE_REQUIRED',
    });
  });

  it('calls a passphrase function once per open, and normalises Unicode (NFD typed, NFC stored)', async () => {
    let calls = 0;
    const store = await openVault(() => {
      calls += 1;
      return 'café'.normalize('NFC');
    });
    expect(calls).toBe(1);
    await store.set(NS, 'K', 'v');
    expect(calls).toBe(1);
    const reopened = await openVault('café'.normalize('NFD'));
    expect((await reopened.get(NS, 'K'))?.text()).toBe('v');
  });

  it('refuses a tampered entry with DECRYPT_FAILED naming the secret', async () => {
    const store = await openVault();
    await store.set(NS, 'K', 'original');
    await store.set(NS, 'OTHER', 'fine');
    const doc = await readJson();
    const entry = doc.entries.find((e: { name: string }) => e.name === 'K');
    const envelope = Buffer.from(entry.value, 'base64');
    envelope[envelope.length - 5]! ^= 0x01;
    entry.value = envelope.toString('base64');
    await writeJson(doc);
    await expect(store.get(NS, 'K')).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
      message: expect.stringContaining('secret K'),
    });
    expect((await store.get(NS, 'OTHER'))?.text()).toBe('fine');
  });

  it('refuses an entry moved to another name or project (the identity is its associated data)', async () => {
    const store = await openVault();
    await store.set(NS, 'PROD_KEY', 'prod');
    await store.set({ workspace: 'local', project: 'other' }, 'PLACEHOLDER', 'x');
    const doc = await readJson();
    const prod = doc.entries.find((e: { name: string }) => e.name === 'PROD_KEY');
    doc.entries.push({ ...prod, name: 'DEV_KEY' });
    doc.entries.push({ ...prod, project: 'other' });
    await writeJson(doc);
    await expect(store.get(NS, 'DEV_KEY')).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
    await expect(store.get({ workspace: 'local', project: 'other' }, 'PROD_KEY')).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
    });
    expect((await store.get(NS, 'PROD_KEY'))?.text()).toBe('prod');
  });

  it('opens an entry sealed by hand as documented: Argon2id(passphrase, salt, params), AAD = identity', async () => {
    // Pins the file format: anything that follows README's description can write a readable entry.
    const store = await openVault();
    const doc = await readJson();
    const key = await deriveKey(PASS, Buffer.from(doc.key.salt, 'base64'), doc.key.params, 32);
    expect(entryAad('local', 'demo', 'K')).toBe('["agentsecrets-vault",1,"entry","local","demo","K"]');
    doc.entries.push({
      workspace: 'local',
      project: 'demo',
      name: 'K',
      value: seal(key, 'sealed-by-hand', entryAad('local', 'demo', 'K')).toString('base64'),
    });
    await writeJson(doc);
    expect((await store.get(NS, 'K'))?.text()).toBe('sealed-by-hand');
  });

  it('refuses KDF parameters lowered in the file with KDF_PARAMS_TOO_WEAK', async () => {
    await openVault();
    for (const weakened of [
      { ...FAST_KDF, memoryKiB: 1024 },
      { ...FAST_KDF, iterations: 1 },
    ]) {
      const doc = await readJson();
      doc.key.params = weakened;
      await writeJson(doc);
      await expect(openVault()).rejects.toMatchObject({ code: 'KDF_PARAMS_TOO_WEAK' });
    }
  });

  it('refuses to create a vault with KDF parameters below the floors', async () => {
    await expect(
      openFileVault({ path, passphrase: PASS, kdfParams: { memoryKiB: 8, iterations: 1, parallelism: 1 } }),
    ).rejects.toMatchObject({ code: 'KDF_PARAMS_TOO_WEAK' });
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a corrupt file with VAULT_CORRUPT and a hint, and never overwrites it', async () => {
    await mkdir(join(dir, 'home'), { recursive: true });
    for (const garbage of ['not json', '{}', '[]', '{"format":"agentsecrets-vault","version":1}', '']) {
      await writeFile(path, garbage);
      await expect(openVault()).rejects.toMatchObject({
        code: 'VAULT_CORRUPT',
        hint: expect.stringContaining('untouched'),
      });
      expect(await readFile(path, 'utf8')).toBe(garbage);
    }
  });

  it('refuses a FIFO or a link to /dev/zero where the vault file belongs, at once, with VAULT_UNAVAILABLE naming why', async () => {
    await mkdir(join(dir, 'home'), { recursive: true });
    for (const make of [() => execFileSync('mkfifo', [path]), () => symlink('/dev/zero', path)]) {
      await make();
      await expect(openVault()).rejects.toMatchObject({
        code: 'VAULT_UNAVAILABLE',
        message: `cannot read vault ${path} (not a regular file)`,
      });
      await rm(path);
    }
  });

  it('names the field that is wrong in a corrupt file, never what it holds', async () => {
    await openVault();
    const doc = await readJson();
    const canary = 'sk_live_VAULT_FORMAT_CANARY_4242';
    doc.entries.push({ workspace: 'local', project: 'demo', name: `${canary}!`, value: 'AAAA' });
    await writeJson(doc);
    const error = await openVault().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'VAULT_CORRUPT',
      message: expect.stringContaining('entries.0.name'),
    });
    expect(JSON.stringify(error)).not.toContain(canary);
    expect(String((error as Error).message)).not.toContain(canary);
  });

  it('refuses to write over a file that became corrupt after it was opened', async () => {
    const store = await openVault();
    await store.set(NS, 'K', 'v');
    const doc = await readJson();
    doc.entries.push({ workspace: 'local', project: 'demo', name: 'bad name!', value: 'AAAA' });
    const corrupted = JSON.stringify(doc);
    await writeFile(path, corrupted);
    await expect(store.set(NS, 'NEW', 'v')).rejects.toMatchObject({ code: 'VAULT_CORRUPT' });
    await expect(store.delete(NS, 'K')).rejects.toMatchObject({ code: 'VAULT_CORRUPT' });
    await expect(store.list(NS)).rejects.toMatchObject({ code: 'VAULT_CORRUPT' });
    expect(await readFile(path, 'utf8')).toBe(corrupted);
  });

  it('reports a newer format version as such', async () => {
    await openVault();
    const doc = await readJson();
    doc.version = 2;
    await writeJson(doc);
    await expect(openVault()).rejects.toMatchObject({
      code: 'VAULT_CORRUPT',
      message: expect.stringContaining('newer'),
    });
  });

  it('refuses to write into a different vault that replaced the file after open', async () => {
    const store = await openVault();
    const replacementPath = join(dir, 'other.json');
    await openFileVault({ path: replacementPath, passphrase: PASS, kdfParams: FAST_KDF });
    await writeFile(path, await readFile(replacementPath));
    await expect(store.set(NS, 'K', 'v')).rejects.toMatchObject({ code: 'VAULT_CORRUPT' });
  });

  it('writes atomically: after many writes only vault.json remains, no temp or lock files', async () => {
    const store = await openVault();
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.set(NS, `K${i}`, `v${i}`)));
    for (let i = 0; i < 25; i += 2) await store.delete(NS, `K${i}`);
    // And this process's owner file of the vault's lock, which stays while the process lives (see withFileLock).
    expect((await readdir(join(dir, 'home'))).sort()).toEqual([
      'vault.json',
      expect.stringMatching(new RegExp(`^vault\\.json\\.lock\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`)),
    ]);
    expect((await store.list(NS)).length).toBe(12);
  });

  it('tightens a vault file that was made readable by others back to 0600 on the next write', async () => {
    const store = await openVault();
    await chmod(path, 0o644);
    await store.set(NS, 'K', 'v');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('keeps the same bytes for the same content (stable, diff-friendly order)', async () => {
    const store = await openVault();
    await store.set(NS, 'B', 'b');
    await store.set(NS, 'A', 'a');
    const doc = await readJson();
    expect(doc.entries.map((e: { name: string }) => e.name)).toEqual(['A', 'B']);
    expect(Object.keys(doc)).toEqual(['format', 'version', 'id', 'key', 'check', 'entries']);
  });

  it('refuses an envelope sealed under another key', async () => {
    const store = await openVault();
    await store.set(NS, 'K', 'v');
    const doc = await readJson();
    doc.entries[0].value = seal(Buffer.alloc(32, 7), 'forged', entryAad('local', 'demo', 'K')).toString(
      'base64',
    );
    await writeJson(doc);
    await expect(store.get(NS, 'K')).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });
});

// A vault whose key lives in the OS keychain needs a real keychain; without one (no Secret Service in a D-Bus
// session) there is nothing to test against here. CI always provides one, so there this must run.
const keychainAnswers = await probeOsKeychain();
describe.skipIf(!keychainAnswers && !IN_CI)('file vault keyed from the OS keychain', () => {
  it('creates a random vault key in the keychain and reopens without a passphrase', async () => {
    const { dir, remove } = await tempDir();
    const path = join(dir, 'vault.json');
    try {
      const store = await openFileVault({ path, keyFromOsKeychain: true });
      await store.set(NS, 'K', 'keyed-by-keychain');
      const doc = JSON.parse(await readFile(path, 'utf8'));
      expect(doc.key).toEqual({ source: 'os-keychain' });
      const reopened = await openFileVault({ path });
      expect((await reopened.get(NS, 'K'))?.text()).toBe('keyed-by-keychain');

      const keytar = await loadKeytar();
      expect(await keytar.deletePassword('agentsecrets/vault-key', doc.id)).toBe(true);
      await expect(openFileVault({ path })).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
    } finally {
      await remove();
    }
  });
});
