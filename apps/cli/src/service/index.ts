import { mkdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@agentsecrets/fs';
import { liveState, vaultOf } from '../commands/proxy.js';
import type { Context } from '../context.js';
import { colours, json, line, usage } from '../io.js';
import { loadCore } from '../lib.js';
import { launchdManager, type ServiceManager, systemdManager } from './manager.js';
import { launchdPlist, serviceEnvironment, serviceFilePath, systemdUnit } from './units.js';

export { launchdPlist, serviceEnvironment, serviceFilePath, systemdUnit } from './units.js';

function where(ctx: Context) {
  const home = ctx.io.env.HOME || homedir();
  const file = serviceFilePath(process.platform, home, ctx.io.env);
  const manager: ServiceManager =
    file.kind === 'launchd'
      ? launchdManager(ctx.io.env, process.getuid?.() ?? 0)
      : systemdManager(ctx.io.env);
  return { ...file, manager };
}

/** The vault backend this home uses: the next step after install depends on it. */
async function backendOf(ctx: Context): Promise<string> {
  const { loadConfig } = await loadCore();
  const config = await loadConfig(await ctx.paths());
  return ctx.io.env.AGENTSECRETS_KEYCHAIN || config.keychain || 'os';
}

/** The line that says what to do once the service runs. */
export function nextStep(backend: string): string {
  return backend === 'file'
    ? 'next: type `agentsecrets unlock` to hand the service the passphrase (again after each reboot or login)'
    : 'nothing else to do: the proxy opens the OS keychain by itself';
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, text, { mode: 0o644 });
}

/** `service install`: writes the unit (or agent) file and asks the user's service manager to start it. */
export async function installService(
  ctx: Context,
  binPath: string,
  opts: { port: string; dryRun?: boolean },
): Promise<void> {
  const { io } = ctx;
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw usage(`bad port ${opts.port}`, 'use a number from 1 to 65535');
  const paths = await ctx.paths();
  const backend = await backendOf(ctx);
  const { path, kind, manager } = where(ctx);
  const spec = {
    node: process.execPath,
    bin: binPath,
    port,
    workingDirectory: io.cwd,
    env: serviceEnvironment(io.env, paths.home),
    logPath: join(paths.home, 'proxy.log'),
  };
  const text = kind === 'launchd' ? launchdPlist(spec) : systemdUnit(spec);
  if (opts.dryRun) {
    line(io.stdout, `would write ${path}:`);
    io.stdout.write(text);
    return;
  }
  const { state } = await liveState(ctx);
  if (state !== undefined) {
    line(
      io.stderr,
      colours(io.stderr, io.env).yellow(
        `warning: a proxy already runs (pid ${state.pid}); the service's proxy cannot start beside it: stop it with \`agentsecrets proxy stop\``,
      ),
    );
  }
  await writeAtomically(path, text);
  line(io.stdout, `wrote ${path}`);
  const started = await manager.start(path);
  if (!started.ok) {
    line(
      io.stderr,
      colours(io.stderr, io.env).yellow(
        `warning: the ${manager.name} did not start it (${started.reason}); in your login session run: ${manager.startByHand}`,
      ),
    );
    line(io.stdout, `until then: \`agentsecrets proxy start --detach\`; ${nextStep(backend)}`);
    return;
  }
  line(io.stdout, `started: the ${manager.name} keeps the proxy running on 127.0.0.1:${port}`);
  if (kind === 'systemd') {
    line(io.stdout, 'to keep it running while you are logged out: loginctl enable-linger');
  }
  line(io.stdout, nextStep(backend));
}

/** `service uninstall`: stops the service and removes its file. */
export async function uninstallService(ctx: Context): Promise<void> {
  const { io } = ctx;
  const { path, manager } = where(ctx);
  const present = await readFile(path).then(
    () => true,
    () => false,
  );
  if (!present) {
    line(io.stdout, `not installed (no ${path})`);
    return;
  }
  const stopped = await manager.stop(path);
  await rm(path, { force: true });
  await manager.forget();
  line(io.stdout, `removed ${path}`);
  if (!stopped.ok) {
    line(
      io.stderr,
      colours(io.stderr, io.env).yellow(
        `warning: the ${manager.name} did not answer (${stopped.reason}); a proxy it started may still run: \`agentsecrets proxy stop\``,
      ),
    );
  }
}

/** `service status`: the file, what the manager says, and the proxy itself (open or locked). */
export async function serviceStatus(ctx: Context, opts: { json?: boolean }): Promise<void> {
  const { io } = ctx;
  const { path, manager } = where(ctx);
  const installed = await readFile(path).then(
    () => true,
    () => false,
  );
  const managerState = installed ? await manager.state() : undefined;
  const { state } = await liveState(ctx);
  const vault = state === undefined ? undefined : await vaultOf(state);
  if (opts.json) {
    json(io.stdout, {
      installed,
      file: path,
      manager: manager.name,
      managerState: managerState ?? null,
      proxy:
        state === undefined
          ? null
          : { pid: state.pid, url: `http://${state.host}:${state.port}`, vault: vault ?? null },
    });
    return;
  }
  line(
    io.stdout,
    installed
      ? `service: installed at ${path} (${manager.name}: ${managerState ?? 'not answering'})`
      : 'service: not installed (`agentsecrets service install` keeps the proxy running)',
  );
  line(
    io.stdout,
    state === undefined
      ? 'proxy: not running'
      : `proxy: running at http://${state.host}:${state.port} (pid ${state.pid})${vault === 'locked' ? ', vault locked: type `agentsecrets unlock` to open it' : ''}`,
  );
}
