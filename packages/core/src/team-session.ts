import type { SecretStore } from '@agentsecrets/keychain';
import type { SyncSession } from '@agentsecrets/sync';

// The session (tokens and the unlocked user key pairs) lives in the local vault, never in a plain file.
const SESSION_NS = { workspace: 'agentsecrets-sync', project: 'session' };
const SESSION_KEY = 'SESSION';

/** Keeps the session in the vault. */
export async function saveSession(store: SecretStore, session: SyncSession): Promise<void> {
  const data = {
    userId: session.userId,
    email: session.email,
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    box: [
      Buffer.from(session.userKeys.box.publicKey).toString('base64'),
      Buffer.from(session.userKeys.box.privateKey).toString('base64'),
    ],
    signing: [
      Buffer.from(session.userKeys.signing.publicKey).toString('base64'),
      Buffer.from(session.userKeys.signing.privateKey).toString('base64'),
    ],
  };
  await store.set(SESSION_NS, SESSION_KEY, JSON.stringify(data));
}

/** The session kept in the vault; `notLoggedIn()` when there is none. */
export async function loadSession(store: SecretStore, notLoggedIn: () => Error): Promise<SyncSession> {
  const raw = await store.get(SESSION_NS, SESSION_KEY);
  if (raw === undefined) throw notLoggedIn();
  const d = JSON.parse(raw.text()) as {
    userId: string;
    email: string;
    accessToken: string;
    refreshToken: string;
    box: [string, string];
    signing: [string, string];
  };
  raw.dispose();
  const b = (t: string) => Buffer.from(t, 'base64');
  return {
    userId: d.userId,
    email: d.email,
    accessToken: d.accessToken,
    refreshToken: d.refreshToken,
    userKeys: {
      box: { publicKey: b(d.box[0]), privateKey: b(d.box[1]) },
      signing: { publicKey: b(d.signing[0]), privateKey: b(d.signing[1]) },
    },
  };
}

/** True when a session is kept (for telling a home set up by an older version from one never set up). */
export async function hasSession(store: SecretStore): Promise<boolean> {
  const raw = await store.get(SESSION_NS, SESSION_KEY);
  raw?.dispose();
  return raw !== undefined;
}

/** Forgets the session. */
export async function deleteSession(store: SecretStore): Promise<void> {
  await store.delete(SESSION_NS, SESSION_KEY);
}
