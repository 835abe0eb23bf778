import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLast, verifyAuditLog } from '@agentsecrets/audit';
import { parseInjectionObject } from '@agentsecrets/injection';
import { createMemoryStore, type SecretStore } from '@agentsecrets/keychain';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentSecrets } from './agent-secrets.js';
import { initAgentSecrets } from './init.js';
import { createAgentSecrets } from './open.js';
import { RECHECK_MS } from './policy.js';

const CANARY = 'sk_live_CORE_CANARY_0a1b2c3d4e5f';
const PASSPHRASE = 'correct horse battery staple';
// Low Argon2id cost is not possible through init (it uses the defaults on purpose); tests pay ~0.3 s per unlock.

let upstream: Upstream;
let dir: string;
let home: string;
let project: string;
let store: SecretStore;
let as: AgentSecrets;

async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-core-'));
  home = join(dir, 'home');
  project = join(dir, 'my-app');
  store = createMemoryStore();
  await initAgentSecrets({ home, cwd: project, passphrase: PASSPHRASE, keychain: 'memory' });
  as = await createAgentSecrets({ home, cwd: project, store });
});
afterEach(async () => {
  await as.close();
  await rm(dir, { recursive: true, force: true });
});

describe('init', () => {
  it('creates a private home, a config with no secrets, and a committable project link', async () => {
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect((await stat(join(home, 'config.json'))).mode & 0o777).toBe(0o600);
    const link = JSON.parse(await readFile(join(project, '.agentsecrets', 'project.json'), 'utf8'));
    expect(link.project.name).toBe('my-app');
    expect(Object.keys(link)).toEqual(['version', 'workspace', 'project']);
    expect(as.project.name).toBe('my-app');
    expect(as.workspace.kind).toBe('personal');
    const config = await readFile(join(home, 'config.json'), 'utf8');
    expect(config).not.toContain(PASSPHRASE);
  });

  it('links another directory after checking the passphrase', async () => {
    const other = join(dir, 'other');
    await expect(
      initAgentSecrets({ home, cwd: other, passphrase: 'wrong passphrase' }),
    ).rejects.toMatchObject({
      code: 'PASSPHRASE_INCORRECT',
    });
    const result = await initAgentSecrets({ home, cwd: other, passphrase: PASSPHRASE });
    expect(result.created).toBe(false);
    expect(result.project.name).toBe('other');
  });

  it('refuses a short passphrase on first init', async () => {
    await expect(
      initAgentSecrets({ home: join(dir, 'h2'), cwd: project, passphrase: 'short' }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('calls through the core', () => {
  it('injects, redacts, audits by name only, and leaves no value on disk', async () => {
    const owner = await as.unlockOwner(PASSPHRASE);
    await as.allowlist.add([`http://127.0.0.1:${upstream.port}`], owner);
    await as.setSecret('API_KEY', CANARY);
    const res = await as.fetch({
      url: `${upstream.origin}/echo?q=1`,
      injections: parseInjectionObject({ bearer: 'API_KEY' }),
      transport: 'cli',
      agentId: 'test-agent',
    });
    expect(res.status).toBe(200);
    expect(res.redacted).toBe(true);
    expect(findLeaks(res.body, CANARY)).toEqual([]);
    await as.close();
    const [event] = await readLast(as.auditPath, 1);
    expect(event).toMatchObject({
      transport: 'cli',
      agent_id: 'test-agent',
      method: 'GET',
      target: `${upstream.origin}/echo`,
      secret_keys: ['API_KEY'],
      styles: ['bearer'],
      status: 'OK',
      http_status: 200,
      redacted: true,
    });
    expect((await verifyAuditLog(as.auditPath)).ok).toBe(true);
    for (const file of await walk(dir)) {
      expect(findLeaks(await readFile(file), CANARY), file).toEqual([]);
    }
  });

  it('refuses a destination off the allowlist before reading any secret, and audits it', async () => {
    let gets = 0;
    const counting: SecretStore = {
      backend: store.backend,
      get: (ns, n) => {
        // Secrets only: the vault also keeps the policy's anchors (namespaces of our own), read with the policy.
        if (!ns.workspace.startsWith('agentsecrets-')) gets += 1;
        return store.get(ns, n);
      },
      set: (ns, n, v) => store.set(ns, n, v),
      delete: (ns, n) => store.delete(ns, n),
      list: (ns) => store.list(ns),
      has: (ns, n) => store.has(ns, n),
    };
    const counted = await createAgentSecrets({ home, cwd: project, store: counting });
    await counted.setSecret('API_KEY', CANARY);
    await expect(
      counted.fetch({
        url: `${upstream.origin}/echo`,
        injections: parseInjectionObject({ bearer: 'API_KEY' }),
        transport: 'mcp',
      }),
    ).rejects.toMatchObject({ code: 'DOMAIN_NOT_ALLOWED' });
    expect(gets).toBe(0);
    await counted.close();
    const [event] = await readLast(counted.auditPath, 1);
    expect(event).toMatchObject({ status: 'BLOCKED', reason: 'DOMAIN_NOT_ALLOWED', transport: 'mcp' });
  });

  it('refuses a policy file edited by hand', async () => {
    const owner = await as.unlockOwner(PASSPHRASE);
    await as.allowlist.add(['api.example.com'], owner);
    const path = join(home, 'policy.json');
    const file = JSON.parse(await readFile(path, 'utf8'));
    const ws = Object.values(file.body.workspaces)[0] as { allowlist: string[] };
    ws.allowlist.push(`http://127.0.0.1:${upstream.port}`);
    await writeFile(path, JSON.stringify(file));
    // A running process looks at the policy file at most every RECHECK_MS.
    await new Promise((r) => setTimeout(r, RECHECK_MS + 50));
    await as.setSecret('API_KEY', CANARY);
    await expect(
      as.fetch({
        url: `${upstream.origin}/echo`,
        injections: parseInjectionObject({ bearer: 'API_KEY' }),
        transport: 'cli',
      }),
    ).rejects.toMatchObject({ code: 'POLICY_SIGNATURE_INVALID' });
    await expect(as.allowlist.list()).rejects.toMatchObject({ code: 'POLICY_SIGNATURE_INVALID' });
  });

  it('picks up a policy change written by another process', async () => {
    await as.setSecret('API_KEY', CANARY);
    const other = await createAgentSecrets({ home, cwd: project, store });
    await other.allowlist.add([`http://127.0.0.1:${upstream.port}`], await other.unlockOwner(PASSPHRASE));
    const res = await as.fetch({
      url: `${upstream.origin}/echo`,
      injections: parseInjectionObject({ bearer: 'API_KEY' }),
      transport: 'proxy',
    });
    expect(res.status).toBe(200);
    await other.close();
  });

  it('a value rotated or deleted through another instance applies to the next call, with or without a revision', async () => {
    await as.allowlist.add([`http://127.0.0.1:${upstream.port}`], await as.unlockOwner(PASSPHRASE));
    const { revision: _, ...withoutRevision } = store;
    for (const shared of [store, withoutRevision as SecretStore]) {
      const proxySide = await createAgentSecrets({ home, cwd: project, store: shared });
      const cliSide = await createAgentSecrets({ home, cwd: project, store: shared });
      const bearer = async () => {
        await proxySide.fetch({
          url: `${upstream.origin}/echo`,
          injections: parseInjectionObject({ bearer: 'API_KEY' }),
          transport: 'proxy',
        });
        return upstream.requests.at(-1)!.headers.authorization;
      };
      await cliSide.setSecret('API_KEY', `${CANARY}-one`);
      expect(await bearer()).toBe(`Bearer ${CANARY}-one`);
      await cliSide.setSecret('API_KEY', `${CANARY}-two`);
      expect(await bearer()).toBe(`Bearer ${CANARY}-two`);
      await cliSide.deleteSecret('API_KEY');
      await expect(bearer()).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
      await proxySide.close();
      await cliSide.close();
    }
  });

  it('redacts every secret of the project, not only the injected one', async () => {
    await as.allowlist.add([`http://127.0.0.1:${upstream.port}`], await as.unlockOwner(PASSPHRASE));
    await as.setSecret('API_KEY', CANARY);
    await as.setSecret('UNUSED_KEY', 'unused-secret-value-987654');
    const res = await as.fetch({
      url: `${upstream.origin}/echo`,
      method: 'POST',
      body: 'the agent pasted unused-secret-value-987654 here',
      injections: parseInjectionObject({ bearer: 'API_KEY' }),
      transport: 'cli',
    });
    expect(res.body.toString()).not.toContain('unused-secret-value-987654');
  });
});

describe('release, bindings and projects', () => {
  it('releases only secrets the owner marked releasable', async () => {
    await as.setSecret('INJECT_ONLY', CANARY);
    await as.setSecret('TOOL_TOKEN', 'tool-token-value-123456');
    const first = await as.release(['INJECT_ONLY', 'TOOL_TOKEN', 'MISSING'], 'env');
    expect(first.values.size).toBe(0);
    expect(first.errors.get('INJECT_ONLY')?.code).toBe('NOT_RELEASABLE');
    expect(first.errors.get('MISSING')?.code).toBe('SECRET_NOT_FOUND');
    await as.setReleasable('TOOL_TOKEN', true, await as.unlockOwner(PASSPHRASE));
    const second = await as.release(undefined, 'exec');
    expect([...second.values.keys()]).toEqual(['TOOL_TOKEN']);
    expect(second.values.get('TOOL_TOKEN')?.text()).toBe('tool-token-value-123456');
    const listed = await as.listSecrets();
    expect(listed).toEqual([
      { name: 'INJECT_ONLY', releasable: false, bindings: [] },
      { name: 'TOOL_TOKEN', releasable: true, bindings: [] },
    ]);
    await as.close();
    const events = await readLast(as.auditPath, 10);
    expect(events.map((e) => e.transport)).toEqual(['env', 'cli', 'exec']);
    expect(findLeaks(JSON.stringify(events), CANARY)).toEqual([]);
  });

  it('binds a secret to a destination and refuses others', async () => {
    const owner = await as.unlockOwner(PASSPHRASE);
    await as.allowlist.add([`http://127.0.0.1:${upstream.port}`], owner);
    await as.setSecret('API_KEY', CANARY);
    await as.bindings.add('API_KEY', `127.0.0.1:${upstream.port}/echo-json`, ['get'], owner);
    expect(await as.bindings.list()).toEqual({
      API_KEY: [{ destination: `127.0.0.1:${upstream.port}/echo-json`, methods: ['GET'] }],
    });
    await expect(
      as.fetch({
        url: `${upstream.origin}/echo`,
        injections: parseInjectionObject({ bearer: 'API_KEY' }),
        transport: 'cli',
      }),
    ).rejects.toMatchObject({ code: 'BINDING_VIOLATION' });
    const ok = await as.fetch({
      url: `${upstream.origin}/echo-json`,
      injections: parseInjectionObject({ bearer: 'API_KEY' }),
      transport: 'cli',
    });
    expect(ok.status).toBe(200);
  });

  it('injects into a query, body or form field only where the owner bound the secret with that field', async () => {
    const owner = await as.unlockOwner(PASSPHRASE);
    await as.allowlist.add([`http://127.0.0.1:${upstream.port}`], owner);
    await as.setSecret('API_KEY', CANARY);
    let gets = 0;
    const counting: SecretStore = {
      ...store,
      backend: store.backend,
      get: (ns, n) => {
        // Secrets of the project; the vault's policy anchor (another namespace) is read on every policy check.
        if (ns.workspace === as.workspace.id) gets += 1;
        return store.get(ns, n);
      },
    };
    const counted = await createAgentSecrets({ home, cwd: project, store: counting });
    const query = () =>
      counted.fetch({
        url: `${upstream.origin}/echo`,
        injections: parseInjectionObject({ 'query:api_key': 'API_KEY' }),
        transport: 'cli',
      });
    await expect(query()).rejects.toMatchObject({ code: 'INJECTION_NOT_ALLOWED' });
    // A binding as written before placements existed: the same record, read the same way (headers only).
    await as.bindings.add('API_KEY', `127.0.0.1:${upstream.port}`, [], owner);
    const file = JSON.parse(await readFile(join(home, 'policy.json'), 'utf8'));
    const records = Object.values(file.body.workspaces as Record<string, { projects: object }>).flatMap((w) =>
      Object.values(w.projects).flatMap((p) => (p as { bindings: { API_KEY: object[] } }).bindings.API_KEY),
    );
    expect(records).toEqual([{ destination: `127.0.0.1:${upstream.port}`, methods: [] }]);
    await new Promise((r) => setTimeout(r, RECHECK_MS + 50));
    await expect(query()).rejects.toMatchObject({ code: 'INJECTION_NOT_ALLOWED' });
    expect(gets).toBe(0);
    await as.bindings.add('API_KEY', `127.0.0.1:${upstream.port}`, [], owner, ['query:api_key', 'bearer']);
    expect(await as.bindings.list()).toEqual({
      API_KEY: [
        { destination: `127.0.0.1:${upstream.port}`, methods: [], inject: ['bearer', 'query:api_key'] },
      ],
    });
    await new Promise((r) => setTimeout(r, RECHECK_MS + 50));
    expect((await query()).status).toBe(200);
    expect(upstream.requests.at(-1)?.url).toBe(`/echo?api_key=${CANARY}`);
    await counted.close();
    const events = await readLast(counted.auditPath, 3);
    expect(events.map((e) => [e.status, e.reason, e.styles])).toEqual([
      ['BLOCKED', 'INJECTION_NOT_ALLOWED', ['query']],
      ['BLOCKED', 'INJECTION_NOT_ALLOWED', ['query']],
      ['OK', null, ['query']],
    ]);
  });

  it('creates, switches and deletes projects, keeping secrets apart', async () => {
    await as.setSecret('API_KEY', CANARY);
    const created = await as.projects.create('second');
    expect(as.projects.list().map((p) => p.name)).toEqual(['my-app', 'second']);
    const second = await createAgentSecrets({ home, cwd: dir, store, project: 'second' });
    expect(second.project.id).toBe(created.id);
    expect(await second.listSecrets()).toEqual([]);
    await second.setSecret('OTHER', 'x'.repeat(10));
    await second.close();
    await as.projects.delete('second', await as.unlockOwner(PASSPHRASE));
    expect(await store.list({ workspace: as.workspace.id, project: created.id })).toEqual([]);
    expect((await as.listSecrets()).map((s) => s.name)).toEqual(['API_KEY']);
  });

  it('reports status', async () => {
    await as.setSecret('API_KEY', CANARY);
    expect(await as.status()).toMatchObject({ backend: 'memory', secrets: 1, allowlist: 0, lastSync: null });
  });
});

describe('fail closed on the audit log', () => {
  it('withholds an answer whose event cannot be written, refuses the next call, and writes the owed event first', async () => {
    const owner = await as.unlockOwner(PASSPHRASE);
    await as.allowlist.add([`http://127.0.0.1:${upstream.port}`], owner);
    await as.setSecret('API_KEY', CANARY);
    const call = (path: string) =>
      as.fetch({
        url: `${upstream.origin}${path}`,
        injections: parseInjectionObject({ bearer: 'API_KEY' }),
        transport: 'cli',
      });
    expect((await call('/status?code=200')).status).toBe(200);
    const errors: string[] = [];
    as.onAuditError((e) => errors.push(e.code));
    // The log's lock becomes impossible to take (a directory where the lock file goes) while a call is in flight.
    const before = upstream.requests.length;
    const dripping = call('/drip');
    while (upstream.requests.length === before) await new Promise((resolve) => setTimeout(resolve, 1));
    await mkdir(join(home, 'audit.jsonl.lock'));
    await expect(dripping).rejects.toMatchObject({
      code: 'AUDIT_IO',
      message: expect.stringMatching(/answer is withheld/),
    });
    expect(errors).toEqual(['AUDIT_IO']);
    const seen = upstream.requests.length;
    await expect(call('/status?code=201')).rejects.toMatchObject({
      code: 'AUDIT_IO',
      message: expect.stringMatching(/1 audit event could not be written/),
    });
    expect(upstream.requests.length).toBe(seen);
    await rm(join(home, 'audit.jsonl.lock'), { recursive: true });
    expect((await call('/status?code=202')).status).toBe(202);
    const targets = (await readLast(join(home, 'audit.jsonl'), 3)).map((e) => e.target);
    expect(targets).toEqual([
      `${upstream.origin}/status`,
      `${upstream.origin}/drip`,
      `${upstream.origin}/status`,
    ]);
    expect((await verifyAuditLog(join(home, 'audit.jsonl'))).ok).toBe(true);
  });
});
