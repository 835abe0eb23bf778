import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createLeafMinter } from '@agentsecrets/local-ca';
import { echoAllForms, type SeenRequest } from './upstream.js';

/** A running HTTPS upstream on 127.0.0.1 with a test CA of its own (not the proxy's). */
export interface TlsUpstream {
  readonly port: number;
  readonly origin: string;
  /** The upstream's CA certificate, PEM, and a file holding it (for NODE_EXTRA_CA_CERTS). */
  readonly caPem: string;
  readonly caFile: string;
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

/** Makes a bare repository `demo.git` with one commit on `main`; returns its root (GIT_PROJECT_ROOT). */
export function makeBareRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'git-root-'));
  const work = mkdtempSync(join(tmpdir(), 'git-work-'));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'a',
    GIT_AUTHOR_EMAIL: 'a@a',
    GIT_COMMITTER_NAME: 'a',
    GIT_COMMITTER_EMAIL: 'a@a',
  };
  const git = (args: string[], cwd?: string) => execFileSync('git', args, { cwd, env, stdio: 'pipe' });
  git(['init', '-q', '-b', 'main', work]);
  git(['commit', '-q', '--allow-empty', '-m', 'first'], work);
  git(['clone', '-q', '--bare', work, join(root, 'demo.git')]);
  return root;
}

/**
 * Starts an HTTPS upstream: `/git/…` serves `git http-backend` over `gitRoot` behind Basic auth whose password must
 * be `gitPassword`; every other path echoes the request in every encoding a careless service might use
 * ({@link echoAllForms}).
 */
export async function startTlsUpstream(
  options: { gitRoot?: string; gitPassword?: string } = {},
): Promise<TlsUpstream> {
  const ca = await createCa('Upstream test CA');
  const leaf = await (await createLeafMinter(ca)).mint('127.0.0.1');
  const requests: SeenRequest[] = [];
  const git = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const auth = req.headers.authorization ?? '';
    const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : '';
    if (
      options.gitPassword === undefined ||
      decoded.slice(decoded.indexOf(':') + 1) !== options.gitPassword
    ) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-length': 0 });
      res.end();
      return;
    }
    const u = new URL(req.url ?? '/', 'https://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: options.gitRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: 'test',
        PATH_INFO: decodeURIComponent(u.pathname.slice(4)),
        QUERY_STRING: u.search.slice(1),
        REQUEST_METHOD: req.method,
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        GIT_PROTOCOL: (req.headers['git-protocol'] as string | undefined) ?? '',
        ...(req.headers['content-encoding']
          ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
          : {}),
      },
    });
    cgi.stdin.end(body);
    let head = Buffer.alloc(0);
    let headDone = false;
    cgi.stdout.on('data', (c: Buffer) => {
      if (headDone) {
        res.write(c);
        return;
      }
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        if (k === 'status') status = Number.parseInt(v, 10);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
  };
  const server = createServer(
    { cert: leaf.certPem, key: leaf.keyPem, keepAliveTimeout: 10_000 },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const seen: SeenRequest = {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body,
        };
        requests.push(seen);
        if ((req.url ?? '').startsWith('/git/') && options.gitRoot !== undefined) {
          git(req, res, body);
          return;
        }
        const text = echoAllForms(seen);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const caFile = join(mkdtempSync(join(tmpdir(), 'upstream-ca-')), 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  return {
    port,
    origin: `https://127.0.0.1:${port}`,
    caPem: ca.certPem,
    caFile,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
