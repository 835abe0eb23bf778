import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeytar } from './internal/keytar.js';
import { createOsStore, probeOsKeychain } from './os-store.js';
import {
  DIST_URL,
  hasCommand,
  IN_CI,
  lastJson,
  run,
  runInKeyringSession,
  tempDir,
  uniqueId,
  writeScript,
} from './test/helpers.js';
import { describeStoreContract } from './test/store-contract.js';

// The os backend is tested against a real Secret Service: run the tests inside a D-Bus session with an unlocked
// gnome-keyring (see README). Without one there is no keychain to test against, so the suite is skipped locally;
// CI always starts one, so with CI set the suite runs and fails if the keychain is missing.
const keychainAnswers = await probeOsKeychain();
const skipOs = !keychainAnswers && !IN_CI;

// A service prefix of its own, so these tests never touch real `agentsecrets/...` items on a developer's machine.
const store = createOsStore({ service: uniqueId('agentsecrets-test') });
describeStoreContract('os', () => store, { skip: skipOs });

describe.skipIf(skipOs)('os store on the real keychain', () => {
  it('probeOsKeychain answers true', async () => {
    expect(await probeOsKeychain()).toBe(true);
  });

  it('keeps items under the service <prefix>/<workspace>/<project>, account = name', async () => {
    const prefix = uniqueId('agentsecrets-test');
    const ns = { workspace: 'w1', project: 'p1' };
    await createOsStore({ service: prefix }).set(ns, 'NAMED', 'plain-text');
    const keytar = await loadKeytar();
    try {
      expect(await keytar.getPassword(`${prefix}/w1/p1`, 'NAMED')).toBe('plain-text');
    } finally {
      await keytar.deletePassword(`${prefix}/w1/p1`, 'NAMED');
    }
  });

  it('lists only valid names, ignoring foreign items under the same service', async () => {
    const prefix = uniqueId('agentsecrets-test');
    const ns = { workspace: 'w', project: 'p' };
    const keytar = await loadKeytar();
    await keytar.setPassword(`${prefix}/w/p`, 'not a valid name', 'x');
    try {
      const own = createOsStore({ service: prefix });
      await own.set(ns, 'VALID', 'y');
      expect(await own.list(ns)).toEqual(['VALID']);
      await own.delete(ns, 'VALID');
    } finally {
      await keytar.deletePassword(`${prefix}/w/p`, 'not a valid name');
    }
  });
});

interface ChildError {
  code?: string;
  message: string;
  hint?: string;
}
interface ChildReport {
  probe: boolean;
  errors: Record<string, ChildError>;
}

const NO_KEYCHAIN_SCRIPT = `
import { createOsStore, probeOsKeychain, openSecretStore } from ${JSON.stringify(DIST_URL)};
const store = createOsStore();
const ns = { workspace: 'w', project: 'p' };
const ops = {
  get: () => store.get(ns, 'K'),
  set: () => store.set(ns, 'K', 'v'),
  list: () => store.list(ns),
  delete: () => store.delete(ns, 'K'),
  openSecretStore: () => openSecretStore({ home: process.env.HOME, env: {} }),
};
const errors = {};
for (const [name, op] of Object.entries(ops)) {
  try { await op(); errors[name] = { message: 'no error' }; }
  catch (e) { errors[name] = { code: e.code, message: e.message, hint: e.hint }; }
}
console.log(JSON.stringify({ probe: await probeOsKeychain(), errors }));
`;

const ALL_OPS = ['get', 'set', 'list', 'delete', 'openSecretStore'] as const;

describe('os store without a keychain (child processes)', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir());
  });
  afterAll(async () => {
    await remove();
  });

  const expectUnavailable = (report: ChildReport, ops: readonly string[]) => {
    expect(report.probe).toBe(false);
    for (const op of ops) {
      const error = report.errors[op];
      expect(error, op).toBeDefined();
      if (error === undefined) continue;
      expect(error.code, op).toBe('VAULT_UNAVAILABLE');
      expect(error.code).toBe('VAULT_UNAVAILABLE');
      expect(error.hint).toContain('AGENTSECRETS_KEYCHAIN=file');
      expect(error.hint).toContain('AGENTSECRETS_PASSPHRASE');
      expect(error.hint).toContain('agentsecrets init --keychain file');
      // keytar's own text is kept as the cause, never shown.
      expect(error.message).not.toMatch(/autolaunch|DISPLAY|Could not connect|does not exist at path/);
    }
  };

  const bareEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
    return env;
  };

  it('maps "no D-Bus session and no $DISPLAY" to VAULT_UNAVAILABLE naming the file backend', async () => {
    const script = await writeScript(dir, NO_KEYCHAIN_SCRIPT);
    const result = await run(process.execPath, [script], { env: bareEnv() });
    expectUnavailable(lastJson<ChildReport>(result), ALL_OPS);
  });

  it('maps a D-Bus address that leads nowhere to VAULT_UNAVAILABLE', async () => {
    const script = await writeScript(dir, NO_KEYCHAIN_SCRIPT);
    const result = await run(process.execPath, [script], {
      env: { ...bareEnv(), DBUS_SESSION_BUS_ADDRESS: `unix:path=${dir}/no-such-bus` },
    });
    expectUnavailable(lastJson<ChildReport>(result), ALL_OPS);
  });

  // Needs dbus-run-session; where it is missing (not a Debian CI image) there is no D-Bus to test against.
  it.skipIf(!hasCommand('dbus-run-session') && !IN_CI)(
    'maps a D-Bus session with no usable keyring (headless gnome-keyring with no login keyring) to VAULT_UNAVAILABLE',
    async () => {
      const script = await writeScript(dir, NO_KEYCHAIN_SCRIPT);
      const home = await mkdtemp(join(dir, 'home-'));
      const result = await run('dbus-run-session', ['--', process.execPath, script], {
        env: { PATH: process.env.PATH, HOME: home, XDG_DATA_HOME: `${home}/.local/share` },
      });
      // gnome-keyring starts on demand and answers reads (nothing found), but cannot write: the probe notices, so
      // openSecretStore refuses instead of running on a keychain that silently loses every write.
      expectUnavailable(lastJson<ChildReport>(result), ['set', 'openSecretStore']);
    },
  );

  it.skipIf(!hasCommand('dbus-run-session') && !IN_CI)(
    'and the same script in a session with an unlocked keyring finds a keychain (the checks above can fail)',
    async () => {
      const home = await mkdtemp(join(dir, 'home-'));
      const script = await writeScript(
        dir,
        `import { probeOsKeychain } from ${JSON.stringify(DIST_URL)};
         console.log(JSON.stringify({ probe: await probeOsKeychain() }));`,
      );
      const result = await runInKeyringSession(home, script);
      expect(lastJson<{ probe: boolean }>(result).probe).toBe(true);
    },
  );
});
