import { type AgentSecrets, AgentSecretsError } from '@agentsecrets/core';
import { type RunningProxy, startProxyServer } from './server.js';
import { clearProxyState, readProxyState, writeProxyState } from './state.js';

/** Options of {@link runProxy}. */
export interface RunProxyOptions {
  readonly core: AgentSecrets;
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
  const existing = await readProxyState(core.paths);
  if (existing !== undefined && existing.pid !== process.pid) {
    throw new AgentSecretsError(
      'INVALID_ARGUMENT',
      `a proxy is already running (pid ${existing.pid}, port ${existing.port})`,
      {
        hint: 'use it, or stop it first with `agentsecrets proxy stop`',
      },
    );
  }
  const running = await startProxyServer({
    core,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.noAuth ? { token: null } : {}),
  });
  try {
    await writeProxyState(core.paths, {
      pid: process.pid,
      host: running.host,
      port: running.port,
      token: running.token,
      startedAt: new Date().toISOString(),
    });
  } catch (e) {
    // A proxy that cannot record itself cannot be found, stopped or reused: it must not keep listening.
    await running.close().catch(() => undefined);
    await clearProxyState(core.paths, process.pid);
    throw new AgentSecretsError(
      'HOME_IO',
      `cannot record the proxy in ${core.paths.proxy}, so it was stopped`,
      {
        hint: 'free disk space or fix the permissions of the AgentSecrets home, then start it again',
        cause: e,
      },
    );
  }
  // Audit writes that fail after a call was let through (the disk filled mid-call) are kept and retried, and no
  // further call goes out until they are written; the proxy's log says so.
  core.onAuditError((error) => {
    process.stderr.write(`audit: ${error.code}: ${error.message}\n`);
  });
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    resolveStopped = r;
  });
  const stop = () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    void running
      .close()
      .then(() => clearProxyState(core.paths, process.pid))
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
