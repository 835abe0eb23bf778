// The audit log of the real processes under the inputs that used to leave calls unrecorded: a target past 2,048
// characters, a flood of denials, and a torn line followed by later tampering.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers.js';
import {
  type ProxyProcess,
  preparedMachine,
  type RawUpstream,
  startProxyProcess,
  startRawUpstream,
} from './proxy-process.js';

let upstream: RawUpstream;
let machine: Awaited<ReturnType<typeof preparedMachine>>;
let proxy: ProxyProcess;
const opts = () => ({ env: machine.env, cwd: machine.project });
const auditPath = () => join(machine.env.AGENTSECRETS_HOME as string, 'audit.jsonl');

async function events(): Promise<Record<string, unknown>[]> {
  const text = await readFile(auditPath(), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  upstream = await startRawUpstream();
  machine = await preparedMachine([upstream.origin]);
  proxy = await startProxyProcess(machine);
});

afterAll(async () => {
  await proxy?.stop();
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

describe('every call is recorded', () => {
  it('a target path over 2,048 characters is recorded, truncated, through the proxy and the CLI', async () => {
    const path = `/${'p'.repeat(3000)}`;
    const before = (await events()).length;
    const res = await request(`http://127.0.0.1:${proxy.port}/proxy`, {
      headers: {
        'x-as-session-token': proxy.token,
        'x-as-target-url': `${upstream.origin}${path}`,
        'x-as-inject-bearer': 'API_KEY',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('ok');
    await proxy.stop();
    const direct = await run(
      ['call', '--url', `${upstream.origin}${path}?q=1`, '--bearer', 'API_KEY'],
      opts(),
    );
    expect(direct.code).toBe(0);
    proxy = await startProxyProcess(machine);
    const recorded = (await events()).slice(before);
    expect(recorded).toHaveLength(2);
    for (const e of recorded) {
      expect(e).toMatchObject({ status: 'OK', secret_keys: ['API_KEY'], http_status: 200 });
      expect(e.target).toHaveLength(2048);
      expect(e.target).toMatch(new RegExp(`^${upstream.origin}/p+\\{truncated:\\d+\\}$`));
    }
  });
});

describe('a flood of denials', () => {
  it('is summarised with counts that add up, and the log still verifies', async () => {
    const before = (await events()).length;
    const agent = new Agent({ connections: 8, pipelining: 4 });
    const long = 'a'.repeat(1900);
    const total = 4000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < total; i = next++) {
          const r = await request(`http://127.0.0.1:${proxy.port}/proxy`, {
            dispatcher: agent,
            headers: {
              'x-as-session-token': proxy.token,
              'x-as-target-url': `https://evil.example/${long}/${i}`,
              'x-as-inject-bearer': 'API_KEY',
            },
          });
          expect(r.statusCode).toBe(403);
          await r.body.text();
        }
      }),
    );
    await agent.close();
    await proxy.stop(); // writes the summaries still open
    proxy = await startProxyProcess(machine);
    const flood = (await events()).slice(before);
    expect(flood.length).toBeLessThan(60);
    expect(flood.every((e) => e.status === 'BLOCKED' && e.reason === 'DOMAIN_NOT_ALLOWED')).toBe(true);
    expect(flood.reduce((n, e) => n + ((e.repeated as number | undefined) ?? 1), 0)).toBe(total);
    expect(
      flood.filter((e) => e.repeated !== undefined).every((e) => e.target === 'https://evil.example'),
    ).toBe(true);
    const verify = await run(['audit', 'verify'], opts());
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/intact/);
  });
});

describe('audit verify past a torn line', () => {
  it('names a deletion made after a torn write, and the torn write as crash damage', async () => {
    await proxy.stop();
    for (let i = 0; i < 2; i += 1) {
      expect(
        (await run(['call', '--url', `${upstream.origin}/a${i}`, '--bearer', 'API_KEY'], opts())).code,
      ).toBe(0);
    }
    // A crash in the middle of an append: the last line is cut short.
    const text = await readFile(auditPath(), 'utf8');
    await writeFile(auditPath(), text.slice(0, -40));
    for (let i = 0; i < 3; i += 1) {
      expect(
        (await run(['call', '--url', `${upstream.origin}/b${i}`, '--bearer', 'API_KEY'], opts())).code,
      ).toBe(0);
    }
    const intact = await run(['audit', 'verify'], opts());
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/intact[\s\S]*1 torn write/);
    // Someone deletes a later line: that is reported, past the torn one.
    const lines = (await readFile(auditPath(), 'utf8')).replace(/\n$/, '').split('\n');
    const deleted = lines.length - 2;
    await writeFile(auditPath(), `${lines.filter((_, i) => i !== deleted).join('\n')}\n`);
    const broken = await run(['audit', 'verify'], opts());
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(
      `broken at ${auditPath()}:${deleted + 1}: it does not follow the line before it`,
    );
    expect(broken.stdout).toMatch(/1 torn write/);
    proxy = await startProxyProcess(machine);
  });
});
