// Where a secret goes inside a request belongs to the secret (issue 8, item 3): by default only the header styles;
// query, body and form injection need an owner-signed binding naming the field. Driven through the built CLI, the
// proxy it starts and the MCP server, each refusing before any secret is read and auditing the refusal.
import { rm } from 'node:fs/promises';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freshMachine, run, transcript } from './helpers.js';

const CANARY = 'sk_live_PLACEMENT_CANARY_1f2e3d4c5b6a';

let upstream: Upstream;
let machine: Awaited<ReturnType<typeof freshMachine>>;
const opts = () => ({ env: machine.env, cwd: machine.project });

beforeAll(async () => {
  upstream = await startUpstream();
  machine = await freshMachine();
  expect((await run(['init', '--yes'], opts())).code).toBe(0);
  expect((await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...opts(), input: CANARY })).code).toBe(0);
  expect((await run(['allowlist', 'add', `http://127.0.0.1:${upstream.port}`], opts())).code).toBe(0);
});

afterAll(async () => {
  await run(['proxy', 'stop'], opts()).catch(() => undefined);
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

async function mcpCall(injections: Record<string, string>, body?: string) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', 'serve'],
    env: machine.env as Record<string, string>,
    cwd: machine.project,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'placement', version: '1.0.0' });
  await client.connect(transport);
  try {
    const res = await client.callTool({
      name: 'api_call',
      arguments: {
        url: `${upstream.origin}/echo`,
        injections,
        ...(body === undefined ? {} : { method: 'POST', body }),
      },
    });
    transcript.push(JSON.stringify(res));
    return res;
  } finally {
    await client.close();
  }
}

async function proxyCall(base: string, token: string, headers: Record<string, string>) {
  const res = await request(`${base}/proxy`, {
    method: 'POST',
    headers: { 'x-as-session-token': token, 'x-as-target-url': `${upstream.origin}/echo`, ...headers },
    body: '{}',
  });
  const body = await res.body.text();
  transcript.push(body);
  return { status: res.statusCode, body };
}

describe('injection places belong to the secret', () => {
  it('call refuses query, body and form injection without a binding naming the field, before any read', async () => {
    for (const flags of [
      ['--query', 'api_key=API_KEY'],
      ['--body-field', 'auth.token=API_KEY', '-X', 'POST', '-d', '{}'],
      ['--form-field', 'token=API_KEY', '-X', 'POST', '-d', 'a=1'],
    ]) {
      upstream.requests.length = 0;
      const res = await run(['call', '--url', `${upstream.origin}/echo`, ...flags], opts());
      expect(res.code, flags[0]).toBe(3);
      expect(res.stderr.trim().split('\n'), flags[0]).toHaveLength(1);
      expect(res.stderr).toContain('INJECTION_NOT_ALLOWED');
      expect(res.stderr).toContain(`agentsecrets secrets bind API_KEY 127.0.0.1:${upstream.port} --`);
      expect(upstream.requests).toEqual([]);
    }
    const bearer = await run(['call', '--url', `${upstream.origin}/echo`, '--bearer', 'API_KEY'], opts());
    expect(bearer.code).toBe(0);
    const header = await run(
      ['call', '--url', `${upstream.origin}/echo`, '--header', 'X-Key=API_KEY'],
      opts(),
    );
    expect(header.code).toBe(0);
  });

  it('the MCP server refuses it with an isError result the model can act on', async () => {
    const refused = await mcpCall({ 'query:api_key': 'API_KEY' });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toContain('INJECTION_NOT_ALLOWED');
    expect(JSON.stringify(refused.content)).toContain('secrets bind API_KEY');
  });

  it('the proxy answers 403, and the owner migrates with `secrets bind … --query`', async () => {
    expect((await run(['proxy', 'start', '--detach', '--port', '0'], opts())).code).toBe(0);
    const status = JSON.parse((await run(['proxy', 'status', '--json'], opts())).stdout);
    const token = (await run(['proxy', 'token'], opts())).stdout.trim();
    upstream.requests.length = 0;
    for (const headers of [
      { 'x-as-inject-query-api_key': 'API_KEY' },
      { 'x-as-inject': 'body:auth.token=API_KEY' },
      { 'x-as-inject-form-token': 'API_KEY' },
    ]) {
      const res = await proxyCall(status.url, token, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(res.body).error.code).toBe('INJECTION_NOT_ALLOWED');
    }
    expect(upstream.requests).toEqual([]);
    // call and MCP now go through the running proxy: the same refusal.
    const viaProxy = await run(
      ['call', '--url', `${upstream.origin}/echo`, '--query', 'api_key=API_KEY'],
      opts(),
    );
    expect(viaProxy.code).toBe(3);
    expect(viaProxy.stderr).toContain('INJECTION_NOT_ALLOWED');

    // The migration for a secret used in a query parameter: one owner command naming the field.
    const bind = await run(
      [
        'secrets',
        'bind',
        'API_KEY',
        `127.0.0.1:${upstream.port}`,
        '--query',
        'api_key',
        '--body',
        'auth.token',
      ],
      opts(),
    );
    expect(bind.code, bind.stderr).toBe(0);
    expect(bind.stdout).toContain('only as body:auth.token, query:api_key');
    const list = await run(['secrets', 'list'], opts());
    expect(list.stdout).toContain(`127.0.0.1:${upstream.port} as body:auth.token,query:api_key`);

    upstream.requests.length = 0;
    const ok = await proxyCall(status.url, token, { 'x-as-inject-query-api_key': 'API_KEY' });
    expect(ok.status).toBe(200);
    expect(upstream.requests[0]!.url).toBe(`/echo?api_key=${CANARY}`);
    const body = await proxyCall(status.url, token, { 'x-as-inject': 'body:auth.token=API_KEY' });
    expect(body.status).toBe(200);
    const call = await run(
      ['call', '--url', `${upstream.origin}/echo`, '--query', 'api_key=API_KEY'],
      opts(),
    );
    expect(call.code, call.stderr).toBe(0);
    const mcp = await mcpCall({ 'query:api_key': 'API_KEY' });
    expect(mcp.isError).toBeFalsy();
    // Exactly the named places: another parameter, a form field, or (now that the binding names places) a header.
    for (const headers of [
      { 'x-as-inject-query-other': 'API_KEY' },
      { 'x-as-inject-form-api_key': 'API_KEY' },
      { 'x-as-inject-bearer': 'API_KEY' },
    ]) {
      const res = await proxyCall(status.url, token, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(res.body).error.code).toBe('INJECTION_NOT_ALLOWED');
    }
    expect((await run(['proxy', 'stop'], opts())).code).toBe(0);
  });

  it('audits every refusal as BLOCKED, and nothing holds the value', async () => {
    const logs = await run(['proxy', 'logs', '--last', '100', '--json', '--status', 'BLOCKED'], opts());
    const events = logs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const refusals = events.filter((e) => e.reason === 'INJECTION_NOT_ALLOWED');
    expect(refusals.length).toBe(3 + 1 + 3 + 1 + 3);
    expect(new Set(refusals.map((e) => e.styles[0]))).toEqual(new Set(['query', 'body', 'form', 'bearer']));
    for (const text of transcript) expect(findLeaks(text, CANARY)).toEqual([]);
  });
});
