// Something other than a regular file at a path of the AgentSecrets home, put there by any process of the user (an
// agent with a shell): a FIFO at the audit log's lock froze the whole proxy (a synchronous open waiting for a writer),
// and a FIFO at vault.json or policy.json left every later call waiting for ever, even after the file was put back.
// The proxy now opens home files without blocking and only as regular files: calls are refused at once with an error
// naming the file, and the first call after it is back works.
import { execFileSync } from 'node:child_process';
import { lstat, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers.js';
import {
  healthy,
  type ProxyProcess,
  preparedMachine,
  type RawUpstream,
  startProxyProcess,
  startRawUpstream,
} from './proxy-process.js';

let upstream: RawUpstream;
let machine: Awaited<ReturnType<typeof preparedMachine>>;
let proxy: ProxyProcess;
let home: string;

beforeAll(async () => {
  upstream = await startRawUpstream();
  upstream.respond = (_head, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  machine = await preparedMachine([upstream.origin]);
  home = machine.env.AGENTSECRETS_HOME as string;
  proxy = await startProxyProcess(machine);
});

afterAll(async () => {
  await proxy?.stop();
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

/** The message of the last error a call got. */
let lastMessage = '';
/** Every error message and hint the calls got. */
const messages: string[] = [];

/** One call through the proxy: its status and error code, or the client's error code when no answer came in 5 s. */
async function call(): Promise<string> {
  try {
    const res = await request(`http://127.0.0.1:${proxy.port}/proxy`, {
      headers: {
        'x-as-session-token': proxy.token,
        'x-as-target-url': `${upstream.origin}/x`,
        'x-as-inject-bearer': 'API_KEY',
      },
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    const text = await res.body.text();
    if (res.statusCode === 200) return `200 ${text}`;
    const { error } = JSON.parse(text) as { error: { code: string; message: string; hint?: string } };
    lastMessage = error.message;
    messages.push(error.message, error.hint ?? '');
    return `${res.statusCode} ${error.code}`;
  } catch (error) {
    return `no answer (${(error as { code?: string }).code})`;
  }
}

/**
 * Puts `make(path)` at `name` in the home — the file there moved aside — until it takes (the proxy may be writing
 * the file, or holding the lock, at that moment); `restore` removes it and puts the file back.
 */
async function replace(name: string, make: (path: string) => Promise<void>): Promise<() => Promise<void>> {
  const path = join(home, name);
  const aside = `${path}.aside`;
  const moved = await rename(path, aside).then(
    () => true,
    () => false,
  );
  for (;;) {
    await rm(path, { force: true });
    try {
      await make(path);
      break;
    } catch {
      await sleep(1);
    }
  }
  // Renamed over what was put there, so the log never lacks a file the proxy could start afresh meanwhile.
  return () => (moved ? rename(aside, path) : rm(path, { force: true }));
}

/** How many calls the audit log records as answered by the upstream, once it has as many as the upstream saw. */
async function recorded(): Promise<number> {
  let count = 0;
  for (let i = 0; i < 40; i += 1) {
    const text = await readFile(join(home, 'audit.jsonl'), 'utf8').catch(() => '');
    count = text.split('\n').filter((line) => line.includes('"http_status":200')).length;
    if (count >= upstream.seen.length) break;
    await sleep(50);
  }
  return count;
}

const fifo = async (path: string) => void execFileSync('mkfifo', [path], { stdio: 'ignore' });

describe('something other than a regular file in the home', () => {
  it.each([
    ['audit.jsonl.lock', 'a FIFO', fifo, '503 AUDIT_IO'],
    ['vault.json', 'a FIFO', fifo, '401 VAULT_UNAVAILABLE'],
    [
      'vault.json',
      'a link to /dev/zero',
      (path: string) => symlink('/dev/zero', path),
      '401 VAULT_UNAVAILABLE',
    ],
    ['policy.json', 'a FIFO', fifo, '500 FILE_IO'],
    ['audit.jsonl', 'a FIFO', fifo, '503 AUDIT_IO'],
  ])(
    '%s as %s: every call is answered at once, and the next call after the file is back works',
    async (name, _what, make, expected) => {
      expect(await call()).toBe('200 ok');
      // Its event is written first: the file is not moved aside in the middle of that write.
      expect(await recorded()).toBe(upstream.seen.length);
      // No error, log line or audit event of any of these failures holds the secret, raw or encoded.
      const canary = 'sk_test_FAULTS_canary_0123456789';
      const seen = [proxy.output(), await readFile(join(home, 'audit.jsonl'), 'utf8'), ...messages].join(
        '\n',
      );
      for (const form of [
        canary,
        Buffer.from(canary).toString('base64'),
        Buffer.from(canary).toString('hex'),
      ]) {
        expect(seen).not.toContain(form);
      }
      const restore = await replace(name, make);
      try {
        // The first call may still see the file as it was: the policy is looked at again after 200 ms, and a failed
        // audit write refuses the calls after it. Every call is answered within 5 s either way.
        expect(await call()).toMatch(new RegExp(`^(200 ok|${expected})$`));
        await sleep(300);
        for (let i = 0; i < 3; i += 1) expect(await call()).toBe(expected);
        // The error says what is wrong, whichever file it is.
        expect(lastMessage).toContain(' (not a regular file)');
        expect(await healthy(proxy.port, 2_000)).toBe(true);
      } finally {
        await restore();
      }
      await sleep(300);
      expect(await call()).toBe('200 ok');
      expect(proxy.alive()).toBe(true);
    },
  );

  it('exports the CA certificate past a FIFO at the old temporary name and a link at ca.pem, following neither', async () => {
    // Found by attack: ca.pem was written through `ca.pem.<pid>.tmp` with a plain write. A FIFO there held the first
    // run's grant for ever (and every later one: the CA load is shared), and a link there was written through.
    const { pid } = JSON.parse(await readFile(join(home, 'proxy.json'), 'utf8')) as { pid: number };
    await fifo(join(home, `ca.pem.${pid}.tmp`));
    const victim = join(machine.root, 'victim.txt');
    await writeFile(victim, 'untouched');
    await symlink(victim, join(home, 'ca.pem'));
    const res = await request(`http://127.0.0.1:${proxy.port}/runs`, {
      method: 'POST',
      headers: { 'x-as-session-token': proxy.token, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'test' }),
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    const grant = (await res.body.json()) as { caCertificate?: string };
    expect([res.statusCode, grant]).toEqual([201, expect.anything()]);
    expect(await readFile(victim, 'utf8')).toBe('untouched');
    expect((await lstat(join(home, 'ca.pem'))).isFile()).toBe(true);
    expect(await readFile(join(home, 'ca.pem'), 'utf8')).toBe(grant.caCertificate);
  });

  it('records every call that reached the upstream, and keeps the chain whole', async () => {
    // Before, with audit.jsonl a FIFO, calls went on being answered while their events waited for ever, also after the
    // file was back: requests were made with a secret and never recorded.
    expect(await recorded()).toBe(upstream.seen.length);
    // No error, log line or audit event of any of these failures holds the secret, raw or encoded.
    const canary = 'sk_test_FAULTS_canary_0123456789';
    const seen = [proxy.output(), await readFile(join(home, 'audit.jsonl'), 'utf8'), ...messages].join('\n');
    for (const form of [
      canary,
      Buffer.from(canary).toString('base64'),
      Buffer.from(canary).toString('hex'),
    ]) {
      expect(seen).not.toContain(form);
    }
    const verify = await run(['audit', 'verify'], { env: machine.env, cwd: machine.project });
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
  });
});
