import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DIST_URL,
  FAST_KDF,
  hasCommand,
  IN_CI,
  lastJson,
  runInKeyringSession,
  tempDir,
  writeScript,
} from './test/helpers.js';

/** Every string a value could be written as in a file: raw, base64 at each of the three byte offsets, hex. */
function encodingsOf(value: Buffer): Map<string, Buffer> {
  const forms = new Map<string, Buffer>();
  forms.set('raw', value);
  for (let offset = 0; offset < 3; offset++) {
    // With `offset` bytes before it, base64 characters wholly made of the value's bits start at [0, 2, 3][offset].
    const encoded = Buffer.concat([Buffer.alloc(offset), value]).toString('base64');
    const start = [0, 2, 3][offset]!;
    const end = Math.floor(((offset + value.length) * 8) / 6);
    const core = encoded.slice(start, end);
    forms.set(`base64@${offset}`, Buffer.from(core));
    forms.set(`base64url@${offset}`, Buffer.from(core.replaceAll('+', '-').replaceAll('/', '_')));
  }
  forms.set('hex', Buffer.from(value.toString('hex')));
  forms.set('HEX', Buffer.from(value.toString('hex').toUpperCase()));
  return forms;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

// Needs a D-Bus session with gnome-keyring to store through the os backend. Where those programs are missing there
// is no keychain to test; CI installs them, so there the test must run.
const canRun = hasCommand('dbus-run-session') && hasCommand('gnome-keyring-daemon');

describe.skipIf(!canRun && !IN_CI)('canary: no file under HOME holds a stored value', () => {
  let home: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir: home, remove } = await tempDir('agentsecrets-canary-'));
  });
  afterAll(async () => {
    await remove();
  });

  it('after storing a canary with the os and the file backend, no file contains it, raw or encoded', async () => {
    const canary = `canary-${randomBytes(24).toString('hex')}`;
    const script = await writeScript(
      home,
      `
import { createOsStore, openFileVault } from ${JSON.stringify(DIST_URL)};
const ns = { workspace: 'local', project: 'canary' };
const os = createOsStore();
await os.set(ns, 'CANARY', process.env.CANARY);
const vault = await openFileVault({
  path: process.env.HOME + '/.agentsecrets/vault.json',
  passphrase: 'canary passphrase',
  kdfParams: ${JSON.stringify(FAST_KDF)},
});
await vault.set(ns, 'CANARY', process.env.CANARY);
const fromOs = await os.get(ns, 'CANARY');
const fromFile = await vault.get(ns, 'CANARY');
console.log(JSON.stringify({
  os: fromOs?.text() === process.env.CANARY,
  file: fromFile?.text() === process.env.CANARY,
  printed: String(fromOs) + ' ' + String(fromFile),
}));
`,
    );
    const result = await runInKeyringSession(home, script, { CANARY: canary });
    const report = lastJson<{ os: boolean; file: boolean; printed: string }>(result);
    // Both backends really stored it, so the search below has something to find if it leaked.
    expect(report).toEqual({ os: true, file: true, printed: '[secret CANARY] [secret CANARY]' });
    expect((await stat(join(home, '.local', 'share', 'keyrings', 'login.keyring'))).size).toBeGreaterThan(0);
    expect((await stat(join(home, '.agentsecrets', 'vault.json'))).size).toBeGreaterThan(0);
    expect(result.stdout + result.stderr).not.toContain(canary);

    const forms = encodingsOf(Buffer.from(canary));
    const files: string[] = [];
    const hits: string[] = [];
    for await (const file of walk(home)) {
      files.push(file);
      const content = await readFile(file);
      for (const [form, needle] of forms) {
        if (content.includes(needle)) hits.push(`${file}: ${form}`);
      }
    }
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(hits).toEqual([]);
  });
});

describe('canary search', () => {
  it('finds a value embedded at any offset in base64, base64url, hex or raw (so the search above can fail)', () => {
    const canary = Buffer.from(`canary-${randomBytes(24).toString('hex')}`);
    const forms = encodingsOf(canary);
    for (let offset = 0; offset < 6; offset++) {
      const embedded = Buffer.concat([randomBytes(offset), canary, randomBytes(5)]);
      const b64 = Buffer.from(embedded.toString('base64'));
      const b64url = Buffer.from(embedded.toString('base64url'));
      expect(b64.includes(forms.get(`base64@${offset % 3}`)!), `base64 at offset ${offset}`).toBe(true);
      expect(b64url.includes(forms.get(`base64url@${offset % 3}`)!), `base64url at offset ${offset}`).toBe(
        true,
      );
      expect(Buffer.from(embedded.toString('hex')).includes(forms.get('hex')!)).toBe(true);
      expect(embedded.includes(forms.get('raw')!)).toBe(true);
    }
  });
});
