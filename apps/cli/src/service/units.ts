import { join } from 'node:path';
import { AgentSecretsError } from '@agentsecrets/errors';
import { build } from 'plist';

/** The systemd user unit's name and the launchd agent's label. */
export const SERVICE_NAME = 'agentsecrets-proxy';
export const LAUNCHD_LABEL = 'dev.agentsecrets.proxy';

/** What the service runs: `node bin.js proxy start --locked --port N` in a directory, with these variables. */
export interface ServiceSpec {
  /** The Node.js binary. */
  readonly node: string;
  /** The CLI's entry file. */
  readonly bin: string;
  readonly port: number;
  /** The directory whose project the proxy serves (its `.agentsecrets/project.json`, else the current project). */
  readonly workingDirectory: string;
  /**
   * `AGENTSECRETS_HOME` and the other non-secret settings. Never a passphrase or password: {@link serviceEnvironment}
   * picks what may go in.
   */
  readonly env: Readonly<Record<string, string>>;
  /** launchd only: where the proxy's output goes (systemd keeps it in the journal). */
  readonly logPath: string;
}

/** The variables a service may carry: settings only. The passphrase reaches the proxy through `agentsecrets unlock`. */
const CARRIED = ['AGENTSECRETS_HOME', 'AGENTSECRETS_KEYCHAIN', 'AGENTSECRETS_SERVER'] as const;

/** The settings from `env` a service carries, `AGENTSECRETS_HOME` made absolute. */
export function serviceEnvironment(env: NodeJS.ProcessEnv, home: string): Record<string, string> {
  const out: Record<string, string> = { AGENTSECRETS_HOME: home };
  for (const name of CARRIED) {
    const value = env[name];
    if (name !== 'AGENTSECRETS_HOME' && value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** The arguments after `node`. */
function proxyArgs(spec: ServiceSpec): string[] {
  return [spec.bin, 'proxy', 'start', '--locked', '--host', '127.0.0.1', '--port', String(spec.port)];
}

function refuseControl(value: string): string {
  // A line break would end the setting (or the XML text node would carry it into argv): no path needs one.
  if ([...value].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) {
    throw new AgentSecretsError(
      'INVALID_ARGUMENT',
      'a path or setting for the service has a control character',
      {
        hint: 'install AgentSecrets, and run the command, from paths without line breaks or control characters',
      },
    );
  }
  return value;
}

/**
 * One word of a systemd command line or a quoted assignment: in double quotes, with `\` and `"` escaped, `%`
 * (specifiers) doubled and, where systemd expands variables, `$` doubled.
 */
function systemdQuote(value: string, dollars: boolean): string {
  let escaped = refuseControl(value).replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('%', '%%');
  if (dollars) escaped = escaped.replaceAll('$', '$$$$');
  return `"${escaped}"`;
}

/**
 * The systemd user unit (`~/.config/systemd/user/agentsecrets-proxy.service`): the proxy in the foreground under
 * the user's manager, restarted when it fails, started with the user's session. With the file vault it starts
 * locked; nothing in the unit is a secret.
 */
export function systemdUnit(spec: ServiceSpec): string {
  const exec = [spec.node, ...proxyArgs(spec)].map((a) => systemdQuote(a, true)).join(' ');
  const env = Object.entries(spec.env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`, false)}`);
  return [
    '# Written by `agentsecrets service install`; removed by `agentsecrets service uninstall`.',
    '# It holds no secret: with the file vault the proxy starts locked until `agentsecrets unlock`.',
    '[Unit]',
    'Description=AgentSecrets proxy (credentials for AI agents, injected by name)',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    `WorkingDirectory=${refuseControl(spec.workingDirectory).replaceAll('%', '%%')}`,
    ...env,
    'Restart=on-failure',
    'RestartSec=2',
    // Stops with SIGTERM, as `proxy stop` does: requests in flight finish first.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=20',
    'NoNewPrivileges=yes',
    'UMask=0077',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

/**
 * The launchd agent (`~/Library/LaunchAgents/dev.agentsecrets.proxy.plist`): started at login, restarted when it
 * exits with a failure, its output in `logPath`. Built by the `plist` package, which escapes every string.
 */
export function launchdPlist(spec: ServiceSpec): string {
  for (const value of [spec.node, spec.bin, spec.workingDirectory, ...Object.values(spec.env)])
    refuseControl(value);
  return `${build({
    Label: LAUNCHD_LABEL,
    ProgramArguments: [spec.node, ...proxyArgs(spec)],
    WorkingDirectory: spec.workingDirectory,
    EnvironmentVariables: { ...spec.env },
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 5,
    ProcessType: 'Background',
    Umask: 0o077,
    StandardOutPath: spec.logPath,
    StandardErrorPath: spec.logPath,
  })}\n`;
}

/** Where the unit or agent file goes for this user. */
export function serviceFilePath(
  platform: NodeJS.Platform,
  home: string,
  env: NodeJS.ProcessEnv,
): { path: string; kind: 'systemd' | 'launchd' } {
  if (platform === 'darwin') {
    return { path: join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`), kind: 'launchd' };
  }
  if (platform === 'linux') {
    const config = env.XDG_CONFIG_HOME || join(home, '.config');
    return { path: join(config, 'systemd', 'user', `${SERVICE_NAME}.service`), kind: 'systemd' };
  }
  throw new AgentSecretsError('INVALID_ARGUMENT', `no service manager is supported on ${platform}`, {
    hint: 'run `agentsecrets proxy start --detach` at login instead (systemd on Linux and launchd on macOS are)',
  });
}
