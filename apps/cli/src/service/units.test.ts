import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { launchdPlist, serviceEnvironment, serviceFilePath, systemdUnit } from './units.js';

const awkward = '/tmp/as dir/100% "quoted" $HOME & <tag> \\ back';
const spec = {
  node: process.execPath,
  bin: '/opt/agentsecrets/dist/bin.js',
  port: 8765,
  workingDirectory: '/home/me/my-app',
  env: { AGENTSECRETS_HOME: '/home/me/.agentsecrets', AGENTSECRETS_KEYCHAIN: 'file' },
  logPath: '/home/me/.agentsecrets/proxy.log',
};

/** systemd's reading of one quoted word as we write them: `\\` and `\"` escapes, `%%` and `$$` doubled. */
function unquote(word: string): string {
  return word.slice(1, -1).replace(/\\(.)/g, '$1').replaceAll('%%', '%').replaceAll('$$', '$');
}

function execStart(unit: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
  return (line.match(/"(?:[^"\\]|\\.)*"/g) ?? []).map(unquote);
}

describe('the systemd user unit', () => {
  it('runs the proxy locked in the foreground, restarts it on failure, carries no secret', () => {
    const unit = systemdUnit(spec);
    expect(execStart(unit)).toEqual([
      process.execPath,
      spec.bin,
      'proxy',
      'start',
      '--locked',
      '--host',
      '127.0.0.1',
      '--port',
      '8765',
    ]);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^WantedBy=default\.target$/m);
    expect(unit).toMatch(/^Type=simple$/m);
    expect(unit).not.toMatch(/PASSPHRASE|PASSWORD/);
  });

  it('passes `systemd-analyze verify` without a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'as-unit-'));
    const path = join(dir, 'agentsecrets-proxy.service');
    for (const unit of [
      systemdUnit({ ...spec, workingDirectory: dir }),
      systemdUnit({ ...spec, bin: awkward, workingDirectory: dir, env: { AGENTSECRETS_HOME: awkward } }),
    ]) {
      writeFileSync(path, unit);
      const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
      if (r.error !== undefined) throw new Error('systemd-analyze is missing: apt-get install systemd');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it('quotes paths with spaces, quotes, %, $ and backslashes so systemd reads them back unchanged', () => {
    const unit = systemdUnit({ ...spec, bin: awkward, env: { AGENTSECRETS_HOME: awkward } });
    expect(execStart(unit)[1]).toBe(awkward);
    const env = /^Environment=(.*)$/m.exec(unit)?.[1] ?? '';
    expect(env.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1').replaceAll('%%', '%')).toBe(
      `AGENTSECRETS_HOME=${awkward}`,
    );
  });

  it('refuses a line break that would add a setting of its own', () => {
    expect(() => systemdUnit({ ...spec, workingDirectory: '/tmp/x\nExecStartPre=/bin/evil' })).toThrow(
      /control character/,
    );
    expect(() => launchdPlist({ ...spec, bin: '/tmp/x\n' })).toThrow(/control character/);
  });
});

describe('the launchd agent', () => {
  it('is a property list that reads back as written (XML parsed here; plutil -lint on macOS)', () => {
    const text = launchdPlist({ ...spec, bin: awkward });
    expect(text).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<!DOCTYPE plist/);
    expect(parse(text)).toEqual({
      Label: 'dev.agentsecrets.proxy',
      ProgramArguments: [
        process.execPath,
        awkward,
        'proxy',
        'start',
        '--locked',
        '--host',
        '127.0.0.1',
        '--port',
        '8765',
      ],
      WorkingDirectory: spec.workingDirectory,
      EnvironmentVariables: spec.env,
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      ProcessType: 'Background',
      Umask: 0o077,
      StandardOutPath: spec.logPath,
      StandardErrorPath: spec.logPath,
    });
    if (process.platform === 'darwin') {
      const dir = mkdtempSync(join(tmpdir(), 'as-plist-'));
      writeFileSync(join(dir, 'a.plist'), text);
      execFileSync('plutil', ['-lint', join(dir, 'a.plist')]);
    }
  });
});

describe('what a service carries', () => {
  it('settings only: never the passphrase or the sync password', () => {
    const env = serviceEnvironment(
      {
        AGENTSECRETS_HOME: 'relative',
        AGENTSECRETS_KEYCHAIN: 'file',
        AGENTSECRETS_PASSPHRASE: 'pp',
        AGENTSECRETS_SYNC_PASSWORD: 'pw',
        AGENTSECRETS_SERVER: 'https://sync.example',
      },
      '/abs/home',
    );
    expect(env).toEqual({
      AGENTSECRETS_HOME: '/abs/home',
      AGENTSECRETS_KEYCHAIN: 'file',
      AGENTSECRETS_SERVER: 'https://sync.example',
    });
  });

  it('puts the file where each manager looks for it', () => {
    expect(serviceFilePath('linux', '/home/me', {}).path).toBe(
      '/home/me/.config/systemd/user/agentsecrets-proxy.service',
    );
    expect(serviceFilePath('linux', '/home/me', { XDG_CONFIG_HOME: '/cfg' }).path).toBe(
      '/cfg/systemd/user/agentsecrets-proxy.service',
    );
    expect(serviceFilePath('darwin', '/Users/me', {}).path).toBe(
      '/Users/me/Library/LaunchAgents/dev.agentsecrets.proxy.plist',
    );
    expect(() => serviceFilePath('win32', 'C:\\Users\\me', {})).toThrow(/no service manager/);
  });
});
