import { spawn } from 'node:child_process';
import { LAUNCHD_LABEL, SERVICE_NAME } from './units.js';

/** What a run of the service manager's own command said. */
export interface ManagerResult {
  readonly ok: boolean;
  readonly stdout: string;
  /** The first line of what it printed on failure (its own words: no value of ours is ever in its arguments). */
  readonly reason: string;
}

/** Runs `command args` with a time limit; a missing command is a failed result, not an error. */
function runManager(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<ManagerResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({
        ok: false,
        stdout: '',
        reason: e.code === 'ENOENT' ? `${command} is not installed` : e.message,
      });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const first = (stderr.trim() || stdout.trim()).split('\n')[0] ?? '';
      resolve({ ok: code === 0, stdout, reason: first.slice(0, 160) || `${command} exited with ${code}` });
    });
  });
}

/** The user's service manager: what `service install|uninstall|status` ask of it. */
export interface ServiceManager {
  /** `systemd user manager` or `launchd`. */
  readonly name: string;
  /** Loads (or reloads) the written file and starts the service now and at every login. */
  start(path: string): Promise<ManagerResult>;
  /** Stops the service and keeps it from starting again. */
  stop(path: string): Promise<ManagerResult>;
  /** Tells the manager the file is gone. */
  forget(): Promise<ManagerResult>;
  /** `active`, `inactive`, `failed`, … or undefined when the manager does not answer. */
  state(): Promise<string | undefined>;
  /** The commands a person types to start it by hand. */
  readonly startByHand: string;
}

/** systemd's user manager, through `systemctl --user`. */
export function systemdManager(env: NodeJS.ProcessEnv): ServiceManager {
  const systemctl = (...args: string[]) => runManager('systemctl', ['--user', ...args], env);
  return {
    name: 'systemd user manager',
    start: async () => {
      const reload = await systemctl('daemon-reload');
      if (!reload.ok) return reload;
      const enable = await systemctl('enable', `${SERVICE_NAME}.service`);
      if (!enable.ok) return enable;
      // restart, not start: a unit that was running picks up the file just written.
      return systemctl('restart', `${SERVICE_NAME}.service`);
    },
    stop: () => systemctl('disable', '--now', `${SERVICE_NAME}.service`),
    forget: () => systemctl('daemon-reload'),
    state: async () => {
      const r = await systemctl('is-active', `${SERVICE_NAME}.service`);
      const word = r.stdout.trim();
      return word === '' ? undefined : word;
    },
    startByHand: `systemctl --user daemon-reload && systemctl --user enable --now ${SERVICE_NAME}`,
  };
}

/** launchd, through `launchctl` in the user's GUI domain. */
export function launchdManager(env: NodeJS.ProcessEnv, uid: number): ServiceManager {
  const domain = `gui/${uid}`;
  const launchctl = (...args: string[]) => runManager('launchctl', args, env);
  return {
    name: 'launchd',
    start: async (path) => {
      await launchctl('bootout', `${domain}/${LAUNCHD_LABEL}`);
      return launchctl('bootstrap', domain, path);
    },
    stop: () => launchctl('bootout', `${domain}/${LAUNCHD_LABEL}`),
    forget: async () => ({ ok: true, stdout: '', reason: '' }),
    state: async () => {
      const r = await launchctl('print', `${domain}/${LAUNCHD_LABEL}`);
      if (!r.ok) return r.reason.includes('not installed') ? undefined : 'inactive';
      return /^\s*state = (\S+)/m.exec(r.stdout)?.[1] ?? 'loaded';
    },
    startByHand: `launchctl bootstrap ${domain} ~/Library/LaunchAgents/${LAUNCHD_LABEL}.plist`,
  };
}
