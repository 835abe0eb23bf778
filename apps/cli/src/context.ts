import type { AgentSecrets, CredentialClient, OwnerKey } from '@agentsecrets/core';
import { type HomePaths, resolveHome } from '@agentsecrets/fs';
import type { ProxyClient } from '@agentsecrets/proxy/client';
import { type Io, ownerPassphrase } from './io.js';
import { loadCore, loadProxyClient } from './lib.js';

/**
 * What every command gets: the streams, lazily opened core objects, and the exit code of a run that ends without an
 * error. The passphrase is asked at most once per run, whether the file vault or an owner action wants it first.
 * The core is loaded (not only opened) on first use, so commands that never need it never pay for it.
 */
export class Context {
  readonly io: Io;
  /**
   * The exit code of a command that finished without throwing but has to report failure (`call --fail`, a push
   * conflict, a broken audit log, the exit status of `env`'s child). Errors thrown get theirs from the error table in
   * the one top-level catch instead.
   */
  exitCode = 0;
  #passphrase: Promise<string> | undefined;
  #core: Promise<AgentSecrets> | undefined;
  readonly #closers: (() => Promise<void>)[] = [];

  constructor(io: Io) {
    this.io = io;
  }

  /** The files of the AgentSecrets home (AGENTSECRETS_HOME or ~/.agentsecrets). */
  async paths(): Promise<HomePaths> {
    return resolveHome(this.io.env);
  }

  /** The owner passphrase (AGENTSECRETS_PASSPHRASE or a hidden prompt), asked once. */
  passphrase(): Promise<string> {
    this.#passphrase ??= ownerPassphrase(this.io);
    return this.#passphrase;
  }

  /** Uses a passphrase received another way (a pipe from the parent of a detached proxy). */
  passphraseFrom(text: string): void {
    this.#passphrase = Promise.resolve(text);
  }

  /**
   * Drops the passphrase (and `AGENTSECRETS_PASSPHRASE` from this process's environment): for a long-running process
   * that has opened what it needs with it. An owner action afterwards asks again.
   */
  forgetPassphrase(): void {
    this.#passphrase = undefined;
    delete this.io.env.AGENTSECRETS_PASSPHRASE;
  }

  /** The passphrase when the configured vault needs one to open (the file vault), else undefined. */
  async passphraseIfNeeded(): Promise<string | undefined> {
    const { loadConfig } = await loadCore();
    const config = await loadConfig(await this.paths());
    const backend = this.io.env.AGENTSECRETS_KEYCHAIN || config.keychain;
    return backend === 'file' ? this.passphrase() : undefined;
  }

  /**
   * The core for the current directory's project, opened once. `readOnly`: a command that reads config or the signed
   * policy only, so the file vault opens (asking for the passphrase) only if a secret is used after all.
   */
  core(project?: string, options: { readonly readOnly?: boolean } = {}): Promise<AgentSecrets> {
    this.#core ??= loadCore()
      .then(({ createAgentSecrets }) =>
        createAgentSecrets({
          env: this.io.env,
          cwd: this.io.cwd,
          passphrase: () => this.passphrase(),
          ...(project === undefined ? {} : { project }),
          ...(options.readOnly ? { lazyVault: true } : {}),
        }),
      )
      .then((core) => {
        this.#closers.push(() => core.close());
        return core;
      });
    return this.#core;
  }

  /** Unlocks the owner key: owner actions call this, so they always need the passphrase. */
  async owner(): Promise<OwnerKey> {
    const core = await this.core();
    return core.unlockOwner(await this.passphrase());
  }

  /** The running proxy when one answers, else the local core: what `call` uses. */
  async client(): Promise<CredentialClient> {
    const { openCredentialClient } = await loadProxyClient();
    const { client } = await openCredentialClient({
      env: this.io.env,
      cwd: this.io.cwd,
      passphrase: () => this.passphrase(),
    });
    this.#closers.push(() => client.close());
    return client;
  }

  /**
   * The running proxy when one answers, else undefined: a read that needs the vault (`secrets diff`) asks it, so it
   * works as `secrets list` does while the proxy holds the vault, and opens the vault here only when none runs.
   */
  async runningProxy(): Promise<ProxyClient | undefined> {
    const { openRunningProxy } = await loadProxyClient();
    const proxy = await openRunningProxy(await this.paths());
    if (proxy !== undefined) this.#closers.push(() => proxy.close());
    return proxy;
  }

  /** Closes whatever was opened (pending audit writes are flushed). */
  async close(): Promise<void> {
    for (const close of this.#closers.splice(0)) await close();
  }
}
