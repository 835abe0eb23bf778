import { type AgentSecrets, AgentSecretsError, type HomePaths } from '@agentsecrets/core';
import { type RunningProxy, startProxyServer } from './server.js';
import { clearProxyState, proxyListening, readProxyState, writeProxyState } from './state.js';
import { VaultGate } from './vault-gate.js';

/** Options of {@link runProxy}. */
export interface RunProxyOptions {
  /** The opened core. Without one the proxy starts locked (give `paths` and `open`). */
  readonly core?: AgentSecrets;
  /** The home; default the core's. */
  readonly paths?: HomePaths;
  /**
   * Opens the core with the owner passphrase. Given, the vault can be locked and unlocked while the proxy runs
   * (`agentsecrets lock|unlock`, the file vault); see {@link VaultGate}.
   */
  readonly open?: (passphrase: string) => Promise<AgentSecrets>;
  readonly host?: string;
  readonly port?: number;
  /** Turn the session token off (`--no-auth`). */
  readonly noAuth?: boolean;
}

/**
 * Runs the proxy as the long-lived process behind `agentsecrets proxy start`: refuses to start a second one for the
 * same home, records pid, address and token in proxy.json (0600), and on SIGTERM or SIGINT stops gracefully —
 * in-flight requests finish — then removes proxy.json. Resolves with the running proxy once it listens.
 */
export async function runProxy(options: RunProxyOptions): Promise<RunningProxy & { stopped: Promise<void> }> {
  const { core } = options;
  const paths = options.paths ?? core?.paths;
  if (paths === undefined) {
    throw new AgentSecretsError('INVALID_ARGUMENT', 'runProxy needs a core, or the home paths', {
      hint: 'pass { core } or { paths, open }',
    });
  }
  // Audit writes that fail after a call was let through (the disk filled mid-call) are kept and retried, and no
  // further call goes out until they are written; the proxy's log says so.
  const onOpen = (opened: AgentSecrets) =>
    opened.onAuditError((error) => {
      process.stderr.write(`audit: ${error.code}: ${error.message}\n`);
    });
  const gate = new VaultGate({
    ...(core === undefined ? {} : { core }),
    lockable: options.open !== undefined,
    open:
      options.open ??
      (() => Promise.reject(new AgentSecretsError('INVALID_ARGUMENT', 'this proxy cannot be unlocked'))),
    onOpen,
  });
  const existing = await readProxyState(paths);
  // A record whose pid lives but where nothing listens is stale (the pid was reused after a crash or a reboot): it
  // must not keep the service's proxy from starting.
  if (existing !== undefined && existing.pid !== process.pid && (await proxyListening(existing))) {
    throw new AgentSecretsError(
      'INVALID_ARGUMENT',
      `a proxy is already running (pid ${existing.pid}, port ${existing.port})`,
      {
        hint: 'use it, or stop it first with `agentsecrets proxy stop`',
      },
    );
  }
  const running = await startProxyServer({
    gate,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.noAuth ? { token: null } : {}),
  });
  try {
    await writeProxyState(paths, {
      pid: process.pid,
      host: running.host,
      port: running.port,
      token: running.token,
      startedAt: new Date().toISOString(),
    });
  } catch (e) {
    // A proxy that cannot record itself cannot be found, stopped or reused: it must not keep listening.
    await running.close().catch(() => undefined);
    await clearProxyState(paths, process.pid);
    throw new AgentSecretsError('HOME_IO', `cannot record the proxy in ${paths.proxy}, so it was stopped`, {
      hint: 'free disk space or fix the permissions of the AgentSecrets home, then start it again',
      cause: e,
    });
  }
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    resolveStopped = r;
  });
  const stop = () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    void running
      .close()
      .then(() => clearProxyState(paths, process.pid))
      .then(resolveStopped);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return {
    ...running,
    close: async () => {
      stop();
      await stopped;
    },
    stopped,
  };
}
