import { type AgentSecrets, AgentSecretsError } from '@agentsecrets/core';

/** Options of {@link VaultGate}. */
export interface VaultGateOptions {
  /** Opens the core with the owner passphrase (the file vault's). */
  readonly open: (passphrase: string) => Promise<AgentSecrets>;
  /** A core opened already (a proxy started with the passphrase); without one the gate starts locked. */
  readonly core?: AgentSecrets;
  /**
   * Whether the vault can be locked and unlocked here: the file vault can; the OS keychain has no passphrase of
   * ours, so a proxy on it is always open.
   */
  readonly lockable: boolean;
  /** Called with each core the gate opens (the proxy listens for its audit errors). */
  readonly onOpen?: (core: AgentSecrets) => void;
}

/** After this many wrong passphrases in a row, each further attempt waits: 1 s, 2 s, 4 s … up to 30 s. */
const FREE_ATTEMPTS = 1;
const MAX_DELAY_MS = 30_000;

function lockedError(): AgentSecretsError {
  return new AgentSecretsError('VAULT_LOCKED', 'the AgentSecrets vault is locked', {
    hint: 'type `agentsecrets unlock` in a terminal to open it',
  });
}

/**
 * The opened vault of a running proxy, or none: a proxy kept running by the service manager starts without the file
 * vault's passphrase (it is in no unit file, argv or environment) and every route but `/health` answers VAULT_LOCKED
 * until `agentsecrets unlock` hands the passphrase over the proxy's authenticated loopback API; `agentsecrets lock`
 * closes the core and drops it (its values, redactor and vault key go with it).
 *
 * Anyone holding the session token can try a passphrase, so tries are made one at a time (each costs an Argon2id
 * derivation, 64 MiB) and wrong ones slow further tries down; a vault already open is never checked again, so an
 * open proxy is no oracle.
 */
export class VaultGate {
  readonly lockable: boolean;
  readonly #open: (passphrase: string) => Promise<AgentSecrets>;
  readonly #onOpen: ((core: AgentSecrets) => void) | undefined;
  #core: AgentSecrets | undefined;
  #trying = false;
  #failures = 0;
  #notBefore = 0;
  #closed = false;

  constructor(options: VaultGateOptions) {
    this.lockable = options.lockable;
    this.#open = options.open;
    this.#onOpen = options.onOpen;
    this.#core = options.core;
    if (options.core !== undefined) this.#onOpen?.(options.core);
  }

  /** True while no vault is open. */
  get locked(): boolean {
    return this.#core === undefined;
  }

  /** The opened core; throws VAULT_LOCKED (with what to type) while locked. */
  core(): AgentSecrets {
    if (this.#core === undefined) throw lockedError();
    return this.#core;
  }

  #notLockable(): AgentSecretsError {
    return new AgentSecretsError(
      'INVALID_ARGUMENT',
      'this proxy uses the OS keychain, which AgentSecrets does not lock',
      { hint: 'lock the keychain itself, or stop the proxy with `agentsecrets proxy stop`' },
    );
  }

  /**
   * Opens the vault with the passphrase. Resolves `false` when it was open already (the passphrase is then not
   * checked). Throws PASSPHRASE_INCORRECT for a wrong one and RATE_LIMITED while tries are held back.
   */
  async unlock(passphrase: string): Promise<boolean> {
    if (!this.lockable) throw this.#notLockable();
    if (this.#closed) throw lockedError();
    if (this.#core !== undefined) return false;
    if (this.#trying) {
      throw new AgentSecretsError('RATE_LIMITED', 'another unlock attempt is being checked', {
        hint: 'wait a moment and run `agentsecrets unlock` again',
      });
    }
    const wait = this.#notBefore - Date.now();
    if (wait > 0) {
      throw new AgentSecretsError(
        'RATE_LIMITED',
        `too many wrong passphrases: the next try is accepted in ${Math.ceil(wait / 1000)} s`,
        { hint: 'wait, then run `agentsecrets unlock` again' },
      );
    }
    this.#trying = true;
    try {
      const core = await this.#open(passphrase);
      if (this.#closed) {
        await core.close();
        throw lockedError();
      }
      this.#failures = 0;
      this.#notBefore = 0;
      this.#core = core;
      this.#onOpen?.(core);
      return true;
    } catch (e) {
      if (e instanceof AgentSecretsError && e.code === 'PASSPHRASE_INCORRECT') {
        this.#failures += 1;
        const over = this.#failures - FREE_ATTEMPTS;
        if (over > 0) this.#notBefore = Date.now() + Math.min(1000 * 2 ** (over - 1), MAX_DELAY_MS);
      }
      throw e;
    } finally {
      this.#trying = false;
    }
  }

  /** Closes and forgets the opened vault. Resolves `false` when it was locked already. */
  async lock(): Promise<boolean> {
    if (!this.lockable) throw this.#notLockable();
    const core = this.#core;
    if (core === undefined) return false;
    this.#core = undefined;
    // Calls in flight keep the core they started with and finish; their audit events are written before it closes.
    await core.close();
    return true;
  }

  /** Closes the opened vault, if any, for good. */
  async close(): Promise<void> {
    this.#closed = true;
    const core = this.#core;
    this.#core = undefined;
    await core?.close();
  }
}
