import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncClient, type SyncLocation } from '@agentsecrets/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './app.js';
import type { Db } from './db/db.js';
import { openDatabase } from './open.js';

const PASSWORD = 'sync client test password';

let dir: string;
let db: Db;
let app: FastifyInstance;
let client: SyncClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-sync-client-'));
  db = await openDatabase(join(dir, 'sync.db'));
  app = await buildServer({ db });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  client = new SyncClient(address);
});

afterAll(async () => {
  await app.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the sync client against a real server', () => {
  it('signs up, logs in on two devices, pushes and pulls ciphertext, and detects conflicts and rollbacks', async () => {
    await client.signup('erin@example.com', PASSWORD);
    await expect(client.login('erin@example.com', 'wrong password!')).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    const laptop = await client.login('erin@example.com', PASSWORD);
    const created = await client.createWorkspace(laptop, 'team');
    const ws = created.workspace;
    const at: SyncLocation = { workspace: ws, projectId: 'prj_app', environment: 'default' };
    const one = [{ name: 'API_KEY', value: Buffer.from('value-one-123'), baseVersion: 0 }];
    expect(await client.push(laptop, at, one)).toEqual({ pushed: [{ name: 'API_KEY', version: 1 }] });
    expect(await client.push(laptop, at, one)).toEqual({ conflicts: [{ name: 'API_KEY', current: 1 }] });

    const desktop = await client.login('erin@example.com', PASSWORD);
    const [entry] = await client.listWorkspaces(desktop);
    // A second device of the same account opens the key from the grant it signed, against the pinned roster.
    const seen = await client.openWorkspace(desktop, entry!, created.roster.pin);
    expect(seen.workspace.key.equals(ws.key)).toBe(true);
    const pulled = await client.pull(desktop, { ...at, workspace: seen.workspace });
    expect(pulled.map((p) => [p.name, p.version, p.value.toString()])).toEqual([
      ['API_KEY', 1, 'value-one-123'],
    ]);
    await expect(client.pull(desktop, at, { API_KEY: 2 })).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });

    // An expired or damaged access token is refreshed once, transparently; the refresh token rotates.
    const before = desktop.refreshToken;
    desktop.accessToken = 'v2.x.y.0.expired';
    expect((await client.listWorkspaces(desktop)).length).toBe(1);
    expect(desktop.refreshToken).not.toBe(before);

    // Logout ends the session at once: the access token it held stops working with it.
    const stillLive = desktop.accessToken;
    await client.logout(desktop);
    await expect(client.listWorkspaces({ ...desktop, accessToken: stillLive })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });
});
