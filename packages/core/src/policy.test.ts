// The signed policy file on its own: what a reader accepts, what it refuses and with which code, and that the
// anchor in the vault refuses an older file even when its signature is good.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKeyPair } from '@agentsecrets/crypto';
import { AgentSecretsError } from '@agentsecrets/errors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyAnchor, VaultRecord } from './anchor.js';
import { OwnerKey } from './owner.js';
import { PolicyStore, RECHECK_MS, workspacePolicy } from './policy.js';

let dir: string;
let path: string;
let owner: OwnerKey;

function memoryAnchor(): VaultRecord<PolicyAnchor> & { value: PolicyAnchor | undefined } {
  const record = {
    value: undefined as PolicyAnchor | undefined,
    get: async () => record.value,
    set: async (v: PolicyAnchor) => {
      record.value = v;
    },
  };
  return record;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (e) {
    return e instanceof AgentSecretsError ? e.code : `FOREIGN ${String(e)}`;
  }
  return undefined;
}

/** A fresh reader of the file, as another process would be. */
async function readFresh(publicKey = owner.publicKey, anchor?: VaultRecord<PolicyAnchor>) {
  const store = new PolicyStore(path, publicKey, anchor);
  await store.refresh();
  return store.body;
}

const allow = (host: string) => (body: Parameters<Parameters<PolicyStore['update']>[1]>[0]) => {
  workspacePolicy(body, 'ws').allowlist.push(host);
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-policy-'));
  path = join(dir, 'policy.json');
  owner = new OwnerKey(generateSigningKeyPair());
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PolicyStore', () => {
  it('reads a missing file as the empty policy, and what the owner signed as signed', async () => {
    expect((await readFresh()).workspaces).toEqual({});
    await new PolicyStore(path, owner.publicKey).update(owner, allow('api.example.com'));
    const body = await readFresh();
    expect(body.serial).toBe(1);
    expect(body.workspaces.ws?.allowlist).toEqual(['api.example.com']);
  });

  it('refuses a file edited by hand, however small the edit', async () => {
    await new PolicyStore(path, owner.publicKey).update(owner, allow('api.example.com'));
    const file = JSON.parse(await readFile(path, 'utf8'));
    file.body.workspaces.ws.allowlist.push('evil.example');
    await writeFile(path, JSON.stringify(file));
    expect(await codeOf(readFresh())).toBe('POLICY_SIGNATURE_INVALID');
    // Reordering keys is not an edit: the signature covers canonical JSON.
    file.body.workspaces.ws.allowlist.pop();
    const reordered = { signature: file.signature, publicKey: file.publicKey, body: file.body };
    await writeFile(path, JSON.stringify(reordered));
    expect((await readFresh()).workspaces.ws?.allowlist).toEqual(['api.example.com']);
  });

  it('refuses a file signed by another key, and one that names the owner key with a foreign signature', async () => {
    const intruder = new OwnerKey(generateSigningKeyPair());
    await new PolicyStore(path, intruder.publicKey).update(intruder, allow('evil.example'));
    expect(await codeOf(readFresh())).toBe('POLICY_SIGNATURE_INVALID');
    const file = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...file, publicKey: owner.publicKey }));
    expect(await codeOf(readFresh())).toBe('POLICY_SIGNATURE_INVALID');
  });

  it('will not sign with a key that is not the owner key', async () => {
    const intruder = new OwnerKey(generateSigningKeyPair());
    expect(await codeOf(new PolicyStore(path, owner.publicKey).update(intruder, allow('evil.example')))).toBe(
      'POLICY_SIGNATURE_INVALID',
    );
  });

  it('refuses an older signed file once the vault anchors a newer one (rollback), and a removed one starts anew', async () => {
    const anchor = memoryAnchor();
    const store = new PolicyStore(path, owner.publicKey, anchor);
    await store.update(owner, allow('one.example'));
    const older = await readFile(path, 'utf8');
    await store.update(owner, allow('two.example'));
    expect(anchor.value?.serial).toBe(2);
    await writeFile(path, older);
    expect(await codeOf(readFresh(owner.publicKey, anchor))).toBe('POLICY_ROLLBACK');
    expect(await codeOf(readFresh(owner.publicKey))).toBe(undefined);
    await rm(path);
    const next = await new PolicyStore(path, owner.publicKey, anchor).update(owner, allow('three.example'));
    expect(next.serial).toBe(3);
  });

  it('refuses a policy checked against an owner key the vault was not set up with (config.json replaced)', async () => {
    const anchor = memoryAnchor();
    await new PolicyStore(path, owner.publicKey, anchor).update(owner, allow('api.example.com'));
    const other = new OwnerKey(generateSigningKeyPair());
    await rm(path);
    await new PolicyStore(path, other.publicKey).update(other, allow('evil.example'));
    expect(await codeOf(readFresh(other.publicKey, anchor))).toBe('POLICY_SIGNATURE_INVALID');
  });

  it('refreshes without waiting only within the recheck interval, and never keeps a policy that stopped verifying', async () => {
    const store = new PolicyStore(path, owner.publicKey);
    expect(store.refreshNow()).toBe(false);
    await store.refresh();
    expect(store.refreshNow()).toBe(true);
    // Another process signs a change: within the interval the kept body stands, after it a look is due.
    await new PolicyStore(path, owner.publicKey).update(owner, allow('api.example.com'));
    expect(store.refreshNow()).toBe(true);
    expect(store.body.workspaces).toEqual({});
    await new Promise((r) => setTimeout(r, RECHECK_MS + 50));
    expect(store.refreshNow()).toBe(false);
    await store.refresh();
    expect(store.refreshNow()).toBe(true);
    expect(store.body.workspaces.ws?.allowlist).toEqual(['api.example.com']);
    // Edited by hand: the look refuses it, and nothing is then served without looking again.
    const file = JSON.parse(await readFile(path, 'utf8'));
    file.body.workspaces.ws.allowlist.push('evil.example');
    await writeFile(path, JSON.stringify(file));
    await new Promise((r) => setTimeout(r, RECHECK_MS + 50));
    expect(await codeOf(store.refresh())).toBe('POLICY_SIGNATURE_INVALID');
    expect(store.refreshNow()).toBe(false);
    expect(await codeOf(store.refresh())).toBe('POLICY_SIGNATURE_INVALID');
  });
});
