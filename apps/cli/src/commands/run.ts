import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { constants, homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AgentSecretsError } from '@agentsecrets/errors';
import type { ProxyClient, RunGrant } from '@agentsecrets/proxy/client';
import { Command } from 'commander';
import type { Context } from '../context.js';
import { colours, line, usage } from '../io.js';
import { loadLocalCa, loadProxy, loadProxyClient, loadSandbox } from '../lib.js';

const FORWARDED: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
];
/** Where clients find their trust: each names the run's bundle (system roots + the caller's extras + our CA). */
const CA_VARIABLES = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'AWS_CA_BUNDLE',
] as const;
const PROXY_VARIABLES = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'all_proxy',
] as const;

/** The audit log's agent id for a command: its basename, limited to the characters the log accepts. */
export function agentName(command: string): string {
  const name = basename(command)
    .replace(/[^A-Za-z0-9_.:@-]/g, '_')
    .slice(0, 128);
  return name === '' ? 'agent' : name;
}

function readIfThere(path: string | undefined): string | undefined {
  if (path === undefined || path === '') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `run -- CMD`: the agent in a sandbox, with placeholders for secrets and every connection through the proxy. */
export function runCommand(ctx: Context): Command {
  return new Command('run')
    .description(
      'run an agent or tool in a sandbox, with placeholders for secrets; its traffic goes through the proxy',
    )
    .option('--only <keys>', 'comma-separated secret names to give placeholders for (default: every secret)')
    .option(
      '--deny-other-hosts',
      'refuse connections to hosts that are not allowlisted (default: tunnel them untouched)',
    )
    .option('--no-sandbox', 'no OS sandbox: placeholders and the proxy only (prints a warning)')
    .argument('<command...>', 'the command and its arguments, after --')
    .addHelpText(
      'after',
      `
Inside, each secret is an environment variable of its own name holding a placeholder for this run; the proxy swaps
it for the value only where the secret's policy allows (allowlist, bindings, header styles) and redacts responses.
HTTP(S)_PROXY name the proxy; NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, CURL_CA_BUNDLE … trust its local CA.
Linux: bubblewrap + socat sandbox (no $AGENTSECRETS_HOME, no keyring, no other processes, no network but the proxy).

Examples:
  agentsecrets run -- claude
  agentsecrets run --only GITHUB_TOKEN,OPENAI_API_KEY -- codex
  agentsecrets run -- gemini
  agentsecrets run -- sh -c 'curl -H "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/user'
  agentsecrets run --no-sandbox -- npm test`,
    )
    .action(
      async (command: string[], opts: { only?: string; denyOtherHosts?: boolean; sandbox: boolean }) => {
        const { io } = ctx;
        const only = opts.only
          ?.split(',')
          .map((n) => n.trim())
          .filter((n) => n !== '');
        if (only !== undefined && only.length === 0)
          throw usage('--only names no secret', 'e.g. --only GITHUB_TOKEN');
        const sandbox = opts.sandbox ? await loadSandbox() : undefined;
        // Refused before anything is opened: no sandbox possible and none waived.
        sandbox?.checkSandbox(io.env);
        if (sandbox === undefined) {
          line(
            io.stderr,
            colours(io.stderr, io.env).yellow(
              'warning: --no-sandbox: the command runs as you, with your files and network; only placeholders and the proxy keep the values from it',
            ),
          );
        }
        const paths = await ctx.paths();
        // The running proxy of this home, or one in this process for the life of the command.
        const { connectRunningProxy, formatProxyUrl, ProxyClient: Client } = await loadProxyClient();
        const running = await connectRunningProxy(paths);
        let proxy: { host: string; port: number; close: () => Promise<void> };
        let client: ProxyClient;
        if (running !== undefined) {
          client = running;
          proxy = { host: running.state.host, port: running.state.port, close: () => running.close() };
        } else {
          const opened = await ctx.core();
          // The vault is open: the passphrase is not kept, and never reaches the command's environment.
          ctx.forgetPassphrase();
          const { startProxyServer } = await loadProxy();
          const server = await startProxyServer({ core: opened, port: 0 });
          const { host, port, token } = server;
          client = new Client({ pid: process.pid, host, port, token, startedAt: new Date().toISOString() });
          proxy = {
            host,
            port,
            close: async () => {
              await client.close();
              await server.close();
            },
          };
        }
        let grant: RunGrant;
        try {
          grant = await client.registerRun({
            agent: agentName(command[0]!),
            ...(only === undefined ? {} : { only }),
            ...(opts.denyOtherHosts ? { denyOtherHosts: true } : {}),
          });
        } catch (e) {
          await proxy.close();
          throw e;
        }
        const runDir = await mkdtemp(join(io.env.XDG_RUNTIME_DIR || tmpdir(), 'agentsecrets-run-'));
        let bridge: Server | undefined;
        try {
          const extras = [readIfThere(io.env.SSL_CERT_FILE), readIfThere(io.env.NODE_EXTRA_CA_CERTS)].filter(
            (x): x is string => x !== undefined,
          );
          const { buildTrustBundle, SYSTEM_BUNDLE_PATHS } = await loadLocalCa();
          const system = SYSTEM_BUNDLE_PATHS.map((p) => readIfThere(p)).find((t) => t !== undefined);
          // Node's own roots only where the machine has no bundle: node:tls takes ~10 ms to load.
          const rootCertificates = system?.trim() ? [] : (await import('node:tls')).rootCertificates;
          const bundle = join(runDir, 'ca-bundle.pem');
          await writeFile(bundle, buildTrustBundle(system, extras, grant.caCertificate, rootCertificates), {
            mode: 0o644,
          });
          // Node < 22.21 / 24.5 ignores proxy variables: a preload routes its fetch through them (node:http is not
          // covered and fails closed inside the sandbox, which has no other network).
          const undici = pathToFileURL(createRequire(import.meta.url).resolve('undici')).href;
          const preload = join(runDir, 'node-proxy-preload.mjs');
          await writeFile(
            preload,
            `const u = await import(${JSON.stringify(undici)});\nconst m = u.default ?? u;\nm.setGlobalDispatcher(new m.EnvHttpProxyAgent());\n`,
            { mode: 0o644 },
          );

          const env: NodeJS.ProcessEnv = {};
          for (const [k, v] of Object.entries(io.env)) if (!k.startsWith('AGENTSECRETS_')) env[k] = v;
          for (const [name, placeholder] of Object.entries(grant.placeholders)) env[name] = placeholder;
          const proxyUrl = sandbox
            ? formatProxyUrl('127.0.0.1', sandbox.BRIDGE_PORT, grant.token)
            : formatProxyUrl(proxy.host, proxy.port, grant.token);
          for (const name of PROXY_VARIABLES) env[name] = proxyUrl;
          env.NO_PROXY = '';
          env.no_proxy = '';
          for (const name of CA_VARIABLES) env[name] = bundle;
          env.NODE_USE_ENV_PROXY = '1';
          env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(preload).href}`.trim();

          let argv: string[] = command;
          let file = command[0]!;
          if (sandbox !== undefined) {
            const proxySocket = join(runDir, 'proxy.sock');
            bridge = createServer((socket) => {
              const up = netConnect({ host: proxy.host, port: proxy.port });
              socket.on('error', () => up.destroy());
              up.on('error', () => socket.destroy());
              socket.pipe(up).pipe(socket);
            });
            await new Promise<void>((resolve, reject) => {
              bridge!.once('error', reject);
              bridge!.listen(proxySocket, () => resolve());
            });
            await chmod(proxySocket, 0o600);
            const seccompFile = join(runDir, 'seccomp.bpf');
            await writeFile(seccompFile, sandbox.sandboxFilter(), { mode: 0o600 });
            const home = io.env.HOME || homedir();
            const dataHome = io.env.XDG_DATA_HOME || join(home, '.local', 'share');
            const hidden = [
              paths.home,
              join(dataHome, 'keyrings'),
              join(home, '.local', 'share', 'keyrings'),
            ];
            file = 'bwrap';
            argv = sandbox.bwrapArgv({ project: io.cwd, hidden, runDir, proxySocket, seccompFile }, command);
          } else {
            argv = command.slice(1);
          }
          const child = spawn(file, argv, { env, cwd: io.cwd, stdio: 'inherit' });
          // The terminal sends ^C, ^\ and window changes to the whole foreground group, the command included: passing
          // them on again would double them (a TUI that quits on a second ^C would quit on the first).
          const fromTerminal = new Set<NodeJS.Signals>(
            io.stdin.isTTY ? ['SIGINT', 'SIGQUIT', 'SIGWINCH'] : [],
          );
          const forward = (signal: NodeJS.Signals) => {
            if (child.exitCode === null && !fromTerminal.has(signal)) child.kill(signal);
          };
          for (const s of FORWARDED) process.on(s, forward);
          const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
            (resolve, reject) => {
              child.once('error', (e: NodeJS.ErrnoException) =>
                reject(
                  new AgentSecretsError(
                    'INVALID_ARGUMENT',
                    `cannot run ${basename(file)} (${e.code ?? 'error'})`,
                    {
                      hint: 'check the command name and PATH',
                    },
                  ),
                ),
              );
              child.once('exit', (code, signal) => resolve({ code, signal }));
            },
          ).finally(() => {
            for (const s of FORWARDED) process.off(s, forward);
          });
          ctx.exitCode = exit.code ?? 128 + (exit.signal ? (constants.signals[exit.signal] ?? 0) : 0);
        } finally {
          bridge?.close();
          await client.endRun(grant.id).catch(() => undefined);
          await proxy.close().catch(() => undefined);
          await rm(runDir, { recursive: true, force: true });
        }
      },
    );
}
