// What the server's tests share: both engines, a database of its own per test file, and a client made of raw calls.
// Not part of the package (tsup bundles only index.ts and bin.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomId } from '@agentsecrets/crypto';
import {
  createUserKeys,
  createWorkspaceKey,
  deriveAccountKeys,
  type KdfOffer,
  newKdfOffer,
  openUserKeys,
  type RosterMember,
  sealUserKeys,
  sealWorkspaceKey,
  signGrant,
  signRoster,
  type UserKeys,
} from '@agentsecrets/sync';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { expect } from 'vitest';
import { buildServer, type ServerOptions } from './app.js';
import type { Db } from './db/db.js';
import { openDatabase } from './open.js';

export const FAST_KDF = { memoryKiB: 19456, iterations: 2, parallelism: 1 };
export const PASSWORD = 'canary-PASSWORD-9f8e7d';

const pgUrl = process.env.TEST_DATABASE_URL;

/**
 * The engines to test on. PostgreSQL runs wherever a server is given (CI starts one); without one, locally, that half
 * is skipped — in CI the absence is a failure.
 */
export const ENGINES: readonly { readonly engine: 'sqlite' | 'postgres'; readonly skip: boolean }[] = [
  { engine: 'sqlite', skip: false },
  { engine: 'postgres', skip: pgUrl === undefined && !process.env.CI },
];

/**
 * A fresh database — a file in `dir`, or a new PostgreSQL database — so test files running at once never share one.
 * Returns it with what removes it.
 */
async function freshDatabase(engine: 'sqlite' | 'postgres', dir: string): Promise<[Db, () => Promise<void>]> {
  if (engine === 'sqlite') return [await openDatabase(join(dir, 'sync.db')), async () => undefined];
  const url = new URL(pgUrl ?? 'postgres://missing-TEST_DATABASE_URL/');
  const name = `as_server_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const own = new URL(url);
  own.pathname = `/${name}`;
  return [await openDatabase(own.toString()), () => admin(`DROP DATABASE IF EXISTS ${name}`)];
}

/** A raw call to a server, as any client could make it. */
export type Call = (
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  token?: string,
  via?: FastifyInstance,
) => Promise<{
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field, as the JSON they are.
  body: any;
}>;

/** Two server instances on one fresh database (nothing lives in one instance's memory), with the first's logs. */
export interface TestServers {
  readonly db: Db;
  readonly app: FastifyInstance;
  readonly second: FastifyInstance;
  readonly logs: string[];
  readonly call: Call;
  close(): Promise<void>;
}

export async function startServers(
  engine: 'sqlite' | 'postgres',
  options: Partial<ServerOptions> = {},
): Promise<TestServers> {
  const dir = await mkdtemp(join(tmpdir(), 'as-server-'));
  const [db, drop] = await freshDatabase(engine, dir);
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _e, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const app = await buildServer({ db, logger: { stream }, authRateLimit: 50, ...options });
  const second = await buildServer({ db, authRateLimit: 50, ...options });
  const call: Call = async (method, url, body, token, via = app) => {
    const res = await via.inject({
      method,
      url,
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: res.statusCode, body: res.body === '' ? undefined : JSON.parse(res.body) };
  };
  return {
    db,
    app,
    second,
    logs,
    call,
    async close() {
      await app.close();
      await second.close();
      await db.close();
      await drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A logged-in test user: tokens and unlocked keys. */
export interface TestUser {
  readonly userId: string;
  readonly email: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly userKeys: UserKeys;
}

/** Signs up and logs in as a client does (keys made and opened on the client side), with fast KDF parameters. */
export async function signupAndLogin(call: Call, email: string): Promise<TestUser> {
  const offer = newKdfOffer(FAST_KDF);
  const account = await deriveAccountKeys(PASSWORD, offer);
  const userId = randomId('usr');
  const keys = sealUserKeys(await createUserKeys(), account.encKey, userId);
  const signup = await call('POST', '/v1/auth/signup', {
    userId,
    email,
    authKey: account.authKey.toString('base64'),
    kdf: offer,
    keys,
  });
  expect(signup.status).toBe(202);
  const pre = await call('POST', '/v1/auth/prelogin', { email });
  const again = await deriveAccountKeys(PASSWORD, pre.body as KdfOffer);
  const login = await call('POST', '/v1/auth/login', { email, authKey: again.authKey.toString('base64') });
  expect(login.status).toBe(200);
  const userKeys = openUserKeys(login.body.keys, again.encKey, login.body.userId);
  return { ...login.body, email, userKeys };
}

/** A user as a roster lists them. */
export function rosterMemberOf(user: TestUser, role: 'admin' | 'member'): RosterMember {
  return {
    userId: user.userId,
    email: user.email,
    role,
    boxPublicKey: Buffer.from(user.userKeys.box.publicKey).toString('base64'),
    signingPublicKey: Buffer.from(user.userKeys.signing.publicKey).toString('base64'),
  };
}

/** A workspace as a client makes it: a first roster listing its creator, and the key granted to them. */
export async function createWorkspace(
  call: Call,
  user: TestUser,
  key = createWorkspaceKey(),
  id = randomId('ws'),
) {
  const me = rosterMemberOf(user, 'admin');
  const roster = signRoster(
    { workspaceId: id, serial: 1, prev: null, keyVersion: 1, members: [me] },
    user.userKeys.signing,
  );
  const sealedKey = await sealWorkspaceKey(key, me.boxPublicKey, { workspaceId: id, keyVersion: 1 });
  const grant = signGrant(
    { workspaceId: id, keyVersion: 1, rosterSerial: 1, recipient: me.userId, sealedKey },
    me,
    user.userKeys.signing,
  );
  const res = await call('POST', '/v1/workspaces', { id, name: 'team', roster, grant }, user.accessToken);
  return { res, id, key, roster, grant };
}
