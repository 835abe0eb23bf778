import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { AgentSecretsError } from '@agentsecrets/errors';
import { seccompSupported } from './seccomp.js';

/** The port of the bridge inside the sandbox: the agent's proxy is `http://…@127.0.0.1:3128`. */
export const BRIDGE_PORT = 3128;
/** The file descriptor stage 2 reads the seccomp program from. */
const SECCOMP_FD = 9;

/** What a sandboxed run needs to know. */
export interface SandboxPlan {
  /** The project directory: read-write inside, and the working directory. */
  readonly project: string;
  /** Directories made empty and read-only inside: `$AGENTSECRETS_HOME`, keyrings … (missing ones are skipped). */
  readonly hidden: readonly string[];
  /** The run's own directory (CA bundle, seccomp program, the proxy's Unix socket), read-only inside. */
  readonly runDir: string;
  /** The proxy's Unix socket (inside `runDir`). */
  readonly proxySocket: string;
  /** The seccomp program file (inside `runDir`). */
  readonly seccompFile: string;
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

function unavailable(what: string): AgentSecretsError {
  return new AgentSecretsError('SANDBOX_UNAVAILABLE', `no sandbox can be made here: ${what}`, {
    hint: 'install bubblewrap and socat (Linux, user namespaces enabled), or run with --no-sandbox to go without one',
  });
}

/**
 * Checks that a sandbox can be made: Linux, `bwrap` and `socat` on PATH, a seccomp program for this CPU, and user
 * namespaces that work (one tiny bwrap run, ~10 ms). Throws SANDBOX_UNAVAILABLE naming what is missing.
 */
export function checkSandbox(
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
): void {
  if (platform !== 'linux') {
    throw unavailable(
      platform === 'darwin' ? 'macOS (Seatbelt) is not supported yet' : `${platform} has no sandbox support`,
    );
  }
  const bwrap = onPath('bwrap', env);
  if (bwrap === undefined) throw unavailable('bubblewrap (bwrap) is not installed');
  if (onPath('socat', env) === undefined) throw unavailable('socat is not installed');
  if (!seccompSupported()) throw unavailable(`no seccomp program for ${process.arch}`);
  const probe = spawnSync(
    bwrap,
    ['--unshare-user', '--unshare-net', '--ro-bind', '/', '/', '--', '/bin/true'],
    { stdio: 'ignore', timeout: 10_000 },
  );
  if (probe.status !== 0) throw unavailable('user namespaces are not available to bubblewrap');
}

/**
 * The bubblewrap argv for a run: stage 1 (namespaces, mounts, the socat bridge to the proxy's Unix socket) around
 * stage 2 (an inner bwrap with the seccomp program) around the command. The command and its arguments are passed as
 * arguments of the shell, never spliced into its script.
 */
export function bwrapArgv(
  plan: SandboxPlan,
  command: readonly string[],
  uid: number = process.getuid?.() ?? 1000,
): string[] {
  const q = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
  const listen = BRIDGE_PORT.toString(16).toUpperCase().padStart(4, '0');
  const script = [
    // The bridge: the sandbox's own loopback → our proxy's Unix socket (the only way out: no other network exists).
    `socat TCP-LISTEN:${BRIDGE_PORT},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${q(plan.proxySocket)} 2>/dev/null &`,
    // Wait (bounded) until it listens, so the agent's first request does not race it.
    `i=0; while ! grep -q ':${listen} 00000000:0000 0A' /proc/net/tcp 2>/dev/null; do i=$((i+1)); [ $i -gt 5000 ] && exit 70; done`,
    // Stage 2: a user namespace that may make no further one, no capabilities, the seccomp program; /proc read-only
    // (stage 2 shares the pid namespace with the unfiltered bridge: no writing /proc/<socat>/mem).
    `exec bwrap --unshare-user --disable-userns --cap-drop ALL --die-with-parent --bind / / --ro-bind /proc /proc --dev-bind /dev /dev --chdir "$PWD" --seccomp ${SECCOMP_FD} -- "$@" ${SECCOMP_FD}<${q(plan.seccompFile)}`,
  ].join('\n');
  return [
    '--die-with-parent', // no orphaned agent when `run` dies
    '--unshare-user', // a user namespace even for root, so that ...
    '--cap-drop',
    'ALL', // ... root inside has no capabilities
    // A root caller: stage 2 cannot map uid 0 again (that needs CAP_SETFCAP, which bwrap refuses when not setuid),
    // so the agent runs as 65534 inside, owning what root owns outside.
    ...(uid === 0 ? ['--uid', '65534', '--gid', '65534'] : []),
    '--unshare-pid', // processes outside are invisible: /proc/<pid>/environ, /mem, ptrace → ENOENT/ESRCH
    '--unshare-net', // only a private loopback: no TCP/UDP/DNS anywhere, no abstract Unix sockets of the host
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--ro-bind',
    '/',
    '/', // the system readable, nothing writable ...
    '--dev',
    '/dev', // ... with a minimal /dev
    '--proc',
    '/proc', // the new pid namespace's /proc only
    '--tmpfs',
    '/tmp', // sockets in /tmp (a session bus, ssh-agent), other users' files
    '--tmpfs',
    '/run', // /run/user/$UID (session bus, keyring control, gpg/ssh agents), docker.sock, the system bus
    '--ro-bind',
    plan.runDir,
    plan.runDir, // the CA bundle, the seccomp program and the proxy's socket (connect works on a read-only bind)
    '--bind',
    plan.project,
    plan.project, // the project stays read-write, except what would run code outside the sandbox later:
    // git hooks and git config (core.hooksPath, core.fsmonitor …) run on the user's next git command.
    ...['.git/hooks', '.git/config']
      .map((p) => join(plan.project, p))
      .filter((p) => existsSync(p))
      .flatMap((p) => ['--ro-bind', p, p]),
    // Hidden last, so a home inside the project is hidden too: empty and read-only (a write fails, unlike srt's).
    ...plan.hidden.filter((d) => existsSync(d)).flatMap((d) => ['--tmpfs', d, '--remount-ro', d]),
    '--chdir',
    plan.project,
    '--',
    '/bin/sh',
    '-c',
    script,
    'agentsecrets-sandbox',
    ...command,
  ];
}
