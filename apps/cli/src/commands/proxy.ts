import { spawn } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent, AuditFilter } from '@agentsecrets/core';
import { AgentSecretsError, ERROR_CODES, type ErrorCode } from '@agentsecrets/errors';
import { fileIoError, isProcessAlive, openRegular, openRegularSync } from '@agentsecrets/fs';
import type { ProxyState } from '@agentsecrets/proxy/client';
import { Command } from 'commander';
import type { Context } from '../context.js';
import { colours, json, line, readStdin, table, usage } from '../io.js';
import { loadCore, loadProxy, loadProxyClient } from '../lib.js';

/** The running proxy's state file, or undefined when none is recorded for this home. */
async function readState(ctx: Context): Promise<ProxyState | undefined> {
  const { readProxyState } = await loadProxyClient();
  return readProxyState(await ctx.paths());
}

/**
 * The recorded proxy when its process runs and listens where it said. A record left by one that ended without
 * stopping (`kill -9`, a crash, a reboot) is removed and returned as `stale`, so nothing acts on a pid that may
 * since belong to another program.
 */
export async function liveState(ctx: Context): Promise<{ state?: ProxyState; stale?: ProxyState }> {
  const { clearProxyState, proxyListening, readRecordedProxyState } = await loadProxyClient();
  const paths = await ctx.paths();
  const state = await readRecordedProxyState(paths);
  if (state === undefined) return {};
  if (isProcessAlive(state.pid) && (await proxyListening(state))) return { state };
  await clearProxyState(paths, state.pid);
  return { stale: state };
}

/** Whether the proxy a state file names answers its health check. */
async function answers(state: ProxyState): Promise<boolean> {
  const { ProxyClient } = await loadProxyClient();
  const client = new ProxyClient(state);
  try {
    return await client.health();
  } finally {
    await client.close();
  }
}

/** Whether the proxy's vault is open or locked. */
export async function vaultOf(state: ProxyState): Promise<'open' | 'locked' | undefined> {
  const { ProxyClient } = await loadProxyClient();
  const client = new ProxyClient(state);
  try {
    return await client.vault().catch(() => undefined);
  } finally {
    await client.close();
  }
}

/** PROXY_NOT_RUNNING, saying how to start one. */
export function noProxy(): AgentSecretsError {
  return new AgentSecretsError('PROXY_NOT_RUNNING', 'no proxy is running for this AgentSecrets home', {
    hint: 'start one with `agentsecrets proxy start --detach`, or keep one running with `agentsecrets service install`',
  });
}

function logRow(e: AuditEvent, c: ReturnType<typeof colours>): string[] {
  const status =
    e.status === 'OK' ? c.green(e.status) : e.status === 'BLOCKED' ? c.yellow(e.status) : c.red(e.status);
  return [
    e.ts.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    e.method ?? '-',
    e.target ?? '-',
    e.secret_keys.join(',') || '-',
    status + (e.reason && e.status !== 'OK' ? ` ${e.reason}` : ''),
    e.http_status === null ? '-' : String(e.http_status),
    `${Math.round(e.duration_ms)}ms`,
  ];
}

/** `proxy start|status|stop|token|logs`. */
export function proxyCommand(ctx: Context, binPath: string): Command {
  const proxy = new Command('proxy').description('the local HTTP proxy agents call with X-AS-* headers');

  proxy
    .command('start')
    .description('start the proxy (unlocks the vault once; agents then need no access to it)')
    .option('--port <port>', 'port', '8765')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--no-auth', 'accept requests without the session token')
    .option('--detach', 'run in the background')
    .option('--passphrase-stdin', 'read the passphrase from stdin (used by --detach)')
    .option(
      '--locked',
      'with the file vault, start without the passphrase: calls answer VAULT_LOCKED until `agentsecrets unlock` (used by the service)',
    )
    .addHelpText(
      'after',
      `
With the file vault, \`agentsecrets lock\` makes a running proxy forget the opened vault and \`agentsecrets unlock\`
hands it the passphrase again (over its loopback API, never argv or environment).

Example:
  agentsecrets proxy start --detach
  curl -s http://127.0.0.1:8765/proxy -H "X-AS-Session-Token: $(agentsecrets proxy token)" \\
    -H 'X-AS-Target-URL: https://api.stripe.com/v1/balance' -H 'X-AS-Inject-Bearer: STRIPE_KEY'`,
    )
    .action(
      async (opts: {
        port: string;
        host: string;
        auth: boolean;
        detach?: boolean;
        passphraseStdin?: boolean;
        locked?: boolean;
      }) => {
        const { io } = ctx;
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw usage(`bad port ${opts.port}`, 'use a number from 1 to 65535');
        const c = colours(io.stderr, io.env);
        const { isLoopbackHost } = await loadCore();
        if (!isLoopbackHost(opts.host)) {
          line(
            io.stderr,
            c.yellow(`warning: listening on ${opts.host} exposes the proxy beyond this machine`),
          );
        }
        const { createAgentSecrets, loadConfig } = await loadCore();
        const config = await loadConfig(await ctx.paths());
        // The file vault can be locked and unlocked while the proxy runs; the OS keychain is the OS's to lock.
        const lockable = (io.env.AGENTSECRETS_KEYCHAIN || config.keychain) === 'file';
        const locked = opts.locked === true && lockable;
        if (opts.detach) return detach(ctx, binPath, { ...opts, locked });
        if (opts.passphraseStdin) {
          // No regular expression on it: V8 keeps the subject of the last match alive.
          const raw = await readStdin(io.stdin);
          let end = raw.length;
          if (raw[end - 1] === 0x0a) end -= 1;
          if (raw[end - 1] === 0x0d) end -= 1;
          ctx.passphraseFrom(raw.subarray(0, end).toString('utf8'));
          raw.fill(0);
        }
        // A vault opened later (`agentsecrets unlock`) never reads AGENTSECRETS_PASSPHRASE: only what unlock sends.
        const env = { ...io.env };
        delete env.AGENTSECRETS_PASSPHRASE;
        const open = lockable
          ? (passphrase: string) => createAgentSecrets({ env, cwd: io.cwd, passphrase })
          : undefined;
        if (locked) ctx.forgetPassphrase();
        const core = locked ? undefined : await ctx.core();
        // The proxy keeps what it needs, the opened vault (its key held by the store), not the passphrase.
        ctx.forgetPassphrase();
        const { runProxy } = await loadProxy();
        const running = await runProxy({
          ...(core === undefined ? {} : { core }),
          ...(open === undefined ? {} : { open }),
          paths: await ctx.paths(),
          host: opts.host,
          port,
          noAuth: !opts.auth,
        });
        line(
          io.stdout,
          `proxy listening on ${running.url} (pid ${process.pid})${running.token === null ? ' without authentication' : ''}${locked ? ', vault locked: type `agentsecrets unlock` to open it' : ''}`,
        );
        if (running.token !== null) line(io.stdout, 'session token: agentsecrets proxy token');
        await running.stopped;
        line(io.stdout, 'proxy stopped');
      },
    );

  proxy
    .command('status')
    .description('is the proxy running, where, and does it answer')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { state, stale } = await liveState(ctx);
      const healthy = state === undefined ? false : await answers(state);
      const vault = state === undefined || !healthy ? undefined : await vaultOf(state);
      const info =
        state === undefined
          ? { running: false, ...(stale === undefined ? {} : { stale: { pid: stale.pid } }) }
          : {
              running: true,
              healthy,
              pid: state.pid,
              url: `http://${state.host}:${state.port}`,
              auth: state.token !== null,
              startedAt: state.startedAt,
              ...(vault === undefined ? {} : { vault }),
            };
      if (opts.json) return json(ctx.io.stdout, info);
      if (stale !== undefined) {
        return line(
          ctx.io.stdout,
          `not running: the proxy (pid ${stale.pid}) ended without stopping; its stale record was removed`,
        );
      }
      if (state === undefined) return line(ctx.io.stdout, 'not running');
      line(
        ctx.io.stdout,
        `running at http://${state.host}:${state.port} (pid ${state.pid}, since ${state.startedAt})${healthy ? '' : ' but not answering'}${vault === 'locked' ? ', vault locked: type `agentsecrets unlock` to open it' : ''}`,
      );
    });

  proxy
    .command('stop')
    .description('stop the proxy; requests in flight finish first')
    .action(async () => {
      const { state } = await liveState(ctx);
      if (state === undefined) throw noProxy();
      process.kill(state.pid, 'SIGTERM');
      for (let waited = 0; waited < 15_000 && isProcessAlive(state.pid); waited += 100) await sleep(100);
      if (isProcessAlive(state.pid)) {
        throw new AgentSecretsError(
          'INTERNAL_ERROR',
          `the proxy (pid ${state.pid}) did not stop within 15 s`,
          {
            hint: 'long downloads may still be finishing; try again, or kill it',
          },
        );
      }
      line(ctx.io.stdout, 'proxy stopped');
    });

  proxy
    .command('token')
    .description('print the session token clients send as X-AS-Session-Token')
    .action(async () => {
      const { state } = await liveState(ctx);
      if (state === undefined) throw noProxy();
      if (state.token === null)
        throw usage('the proxy runs with --no-auth and has no token', 'send requests without one');
      line(ctx.io.stdout, state.token);
    });

  proxy
    .command('logs')
    .description('the audit trail: every call, by key name')
    .option('--last <n>', 'how many events', '20')
    .option('--secret <key>', 'only calls that used this secret')
    .option('--status <status>', 'OK, BLOCKED or ERROR')
    .option('--follow', 'keep printing new events')
    .option('--json', 'one JSON event per line')
    .action(
      async (opts: { last: string; secret?: string; status?: string; follow?: boolean; json?: boolean }) => {
        const { io } = ctx;
        const n = Number(opts.last);
        if (!Number.isInteger(n) || n < 0) throw usage(`bad --last ${opts.last}`, 'use a whole number');
        if (opts.status !== undefined && !['OK', 'BLOCKED', 'ERROR'].includes(opts.status.toUpperCase())) {
          throw usage(`bad --status ${opts.status}`, 'use OK, BLOCKED or ERROR');
        }
        const filter: AuditFilter = {
          ...(opts.secret === undefined ? {} : { secret: opts.secret }),
          ...(opts.status === undefined ? {} : { status: opts.status.toUpperCase() as AuditEvent['status'] }),
        };
        const c = colours(io.stdout, io.env);
        const header = ['TIME', 'METHOD', 'TARGET', 'SECRET', 'STATUS', 'HTTP', 'DURATION'];
        const { followAudit, readLast } = await loadCore();
        const { audit } = await ctx.paths();
        const events = await readLast(audit, n, filter);
        if (opts.json) for (const e of events) line(io.stdout, JSON.stringify(e));
        else if (events.length > 0 || opts.follow)
          line(io.stdout, table([header, ...events.map((e) => logRow(e, c))]));
        else line(io.stdout, 'no audit events yet');
        if (!opts.follow) return;
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        for await (const e of followAudit(audit, { filter, signal: stop.signal, fromEnd: true })) {
          line(io.stdout, opts.json ? JSON.stringify(e) : logRow(e, c).join('  '));
        }
      },
    );
  return proxy;
}

async function detach(
  ctx: Context,
  binPath: string,
  opts: { port: string; host: string; auth: boolean; locked: boolean },
): Promise<void> {
  const { io } = ctx;
  const passphrase = opts.locked ? undefined : await ctx.passphraseIfNeeded();
  const logPath = join((await ctx.paths()).home, 'proxy.log');
  let log: number;
  try {
    log = openRegularSync(logPath, 'a');
  } catch (error) {
    throw fileIoError('open the proxy log', logPath, error);
  }
  const logStart = fstatSync(log).size;
  const args = [binPath, 'proxy', 'start', '--port', opts.port, '--host', opts.host];
  if (!opts.auth) args.push('--no-auth');
  if (opts.locked) args.push('--locked');
  if (passphrase !== undefined) args.push('--passphrase-stdin');
  // The passphrase goes through a pipe, never argv or the child's environment, where other processes could read it.
  const env = { ...io.env };
  delete env.AGENTSECRETS_PASSPHRASE;
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['pipe', log, log],
    env,
    cwd: io.cwd,
  });
  child.stdin?.end(passphrase === undefined ? '' : `${passphrase}\n`);
  child.unref();
  for (let waited = 0; waited < 20_000; waited += 100) {
    const state = await readState(ctx);
    if (state !== undefined && state.pid === child.pid) {
      line(
        io.stdout,
        `proxy started in the background at http://${state.host}:${state.port} (pid ${state.pid}, log ${logPath})${opts.locked ? '; vault locked: type `agentsecrets unlock` to open it' : ''}`,
      );
      return;
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw (
    (child.exitCode === null ? undefined : await startError(logPath, logStart)) ??
    new AgentSecretsError('INTERNAL_ERROR', 'the proxy did not start', { hint: `see ${logPath}` })
  );
}

/**
 * Why a detached proxy ended before it listened: the one error line it wrote to its log (our own line, built from
 * names, as every CLI error is), so the user reads "port 8765 … in use" rather than "see proxy.log".
 */
async function startError(logPath: string, from: number): Promise<AgentSecretsError | undefined> {
  const file = await openRegular(logPath);
  let text: string;
  try {
    const { size } = await file.stat();
    const length = Math.min(size - from, 64 * 1024);
    const buffer = Buffer.alloc(Math.max(length, 0));
    await file.read(buffer, 0, buffer.length, size - buffer.length);
    text = buffer.toString('utf8');
  } finally {
    await file.close();
  }
  const last = text
    .split('\n')
    .filter((l) => l.startsWith('error '))
    .pop();
  const match = /^error ([A-Z_]+): (.*?)(?: — (.*))?$/.exec(last ?? '');
  if (match === null || !Object.hasOwn(ERROR_CODES, match[1]!)) return undefined;
  return new AgentSecretsError(match[1] as ErrorCode, match[2]!, {
    hint: match[3] ?? `see ${logPath}`,
  });
}
