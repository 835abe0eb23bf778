import { AgentSecretsError } from '@agentsecrets/errors';

/** The part of keytar's API AgentSecrets uses. */
export interface Keytar {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
  findCredentials(service: string): Promise<Array<{ account: string; password: string }>>;
}

/** How to get going without an OS keychain; shared by every error that says no keychain answered. */
export const FILE_BACKEND_HINT =
  'use the encrypted file vault instead: set AGENTSECRETS_KEYCHAIN=file and AGENTSECRETS_PASSPHRASE, or run `agentsecrets init --keychain file`';

let loading: Promise<Keytar> | undefined;

/**
 * Loads keytar on first use. Loading is deferred so that the file and memory backends work on a machine where the
 * native addon (or libsecret under it) cannot load; a load failure becomes `VAULT_UNAVAILABLE`.
 */
export function loadKeytar(): Promise<Keytar> {
  loading ??= import('@github/keytar').then(
    (mod) => ((mod as { default?: Keytar }).default ?? mod) as Keytar,
    (cause: unknown) => {
      loading = undefined;
      throw new AgentSecretsError(
        'VAULT_UNAVAILABLE',
        'the OS keychain library (keytar) could not be loaded',
        {
          hint: `on Linux it needs libsecret-1-0 (apt-get install libsecret-1-0); or ${FILE_BACKEND_HINT}`,
          cause,
        },
      );
    },
  );
  return loading;
}

// Messages libsecret, D-Bus, macOS and Windows give when there is no keychain to talk to. The text is only matched,
// never shown: the error we throw carries it as `cause`.
const UNAVAILABLE = [
  /autolaunch/i,
  /\$DISPLAY/,
  /could not connect/i,
  /was not provided/i,
  /ServiceUnknown/i,
  /does not exist at path/i,
  /no such (file|interface|object)/i,
  /connection refused/i,
  /NoReply/i,
  /timed? ?out/i,
  /not available/i,
];
const LOCKED = [/\blocked\b/i, /dismissed/i, /cancel/i, /user interaction/i, /denied/i];

/** Turns whatever keytar threw into one clear error, without repeating keytar's text. */
export function keychainError(action: string, cause: unknown): AgentSecretsError {
  if (cause instanceof AgentSecretsError) return cause;
  const text = cause instanceof Error ? cause.message : String(cause);
  if (UNAVAILABLE.some((re) => re.test(text))) {
    return new AgentSecretsError('VAULT_UNAVAILABLE', `no OS keychain answered while trying to ${action}`, {
      hint: `on Linux a Secret Service (gnome-keyring, KeePassXC) must run in a D-Bus session with an unlocked default keyring; or ${FILE_BACKEND_HINT}`,
      cause,
    });
  }
  if (LOCKED.some((re) => re.test(text))) {
    return new AgentSecretsError(
      'VAULT_LOCKED',
      `the OS keychain is locked or refused access while trying to ${action}`,
      {
        hint: `unlock the keychain (log in to the desktop session) and try again; or ${FILE_BACKEND_HINT}`,
        cause,
      },
    );
  }
  return new AgentSecretsError('VAULT_UNAVAILABLE', `the OS keychain failed to ${action}`, {
    hint: `run again with --debug to see the keychain's own error; or ${FILE_BACKEND_HINT}`,
    cause,
  });
}

/** Runs one keychain call, mapping any failure through {@link keychainError}. */
export async function keychainCall<T>(action: string, call: (keytar: Keytar) => Promise<T>): Promise<T> {
  const keytar = await loadKeytar();
  try {
    return await call(keytar);
  } catch (cause) {
    throw keychainError(action, cause);
  }
}

/** Resolves with `promise`, or with `fallback` after `ms`, without keeping the process alive for the timer. */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}
