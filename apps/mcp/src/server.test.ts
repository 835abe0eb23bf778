import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentSecrets,
  createAgentSecrets,
  createMemoryStore,
  initAgentSecrets,
} from '@agentsecrets/core';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpServer } from './server.js';

const CANARY = 'sk_live_MCP_CANARY_77665544';
const PASSPHRASE = 'mcp test passphrase';

let dir: string;
let upstream: Upstream;
let core: AgentSecrets;
let client: Client;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'as-mcp-'));
  upstream = await startUpstream();
  const home = join(dir, 'home');
  const cwd = join(dir, 'app');
  await initAgentSecrets({ home, cwd, passphrase: PASSPHRASE, keychain: 'memory' });
  core = await createAgentSecrets({ home, cwd, store: createMemoryStore() });
  const owner = await core.unlockOwner(PASSPHRASE);
  await core.allowlist.add([`http://127.0.0.1:${upstream.port}`], owner);
  await core.setSecret('API_KEY', CANARY);
  await core.bindings.add('API_KEY', `127.0.0.1:${upstream.port}`, [], owner);
  const server = createMcpServer({ client: core, auditPath: core.auditPath, maxBodyChars: 50 });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'unit', version: '1.0.0' });
  await client.connect(clientSide);
});

afterAll(async () => {
  await client.close();
  await core.close();
  await upstream.close();
  await rm(dir, { recursive: true, force: true });
});

describe('MCP tools', () => {
  it('declares four tools with schemas and annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['api_call', 'audit_log', 'list_secrets', 'status']);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(t.annotations?.readOnlyHint).toBe(t.name !== 'api_call');
    }
  });

  it('lists names with bound hosts, never values', async () => {
    const res = await client.callTool({ name: 'list_secrets', arguments: {} });
    expect(res.structuredContent).toEqual({
      secrets: [
        {
          name: 'API_KEY',
          bound_hosts: [`127.0.0.1:${upstream.port}`],
          releasable: false,
          bindings: [
            {
              destination: `127.0.0.1:${upstream.port}`,
              methods: [],
              inject: ['bearer', 'basic', 'header:NAME'],
            },
          ],
        },
      ],
    });
    expect(JSON.stringify(res)).not.toContain(CANARY);
  });

  it('calls an API, redacts, truncates for the model, and gives a text copy', async () => {
    const res = await client.callTool({
      name: 'api_call',
      arguments: { url: `${upstream.origin}/echo-headers`, method: 'get', injections: { bearer: 'API_KEY' } },
    });
    expect(res.isError).toBeFalsy();
    const out = res.structuredContent as {
      status: number;
      headers: Record<string, string>;
      redacted: boolean;
      truncated: boolean;
    };
    expect(out).toMatchObject({ status: 200, redacted: true, truncated: false });
    expect(out.headers['x-echo']).toBe('[REDACTED_BY_AGENTSECRETS]');
    expect((res.content as { text: string }[])[0]!.text).toContain('HTTP 200');
    const long = await client.callTool({
      name: 'api_call',
      arguments: { url: `${upstream.origin}/echo`, injections: {} },
    });
    expect((long.structuredContent as { truncated: boolean; body: string }).truncated).toBe(true);
    expect(findLeaks(JSON.stringify([res, long]), CANARY)).toEqual([]);
  });

  it('hands back response headers named like Object properties as they were sent', async () => {
    const odd = createServer((_req, res) => {
      res.writeHead(200, [
        ['constructor', 'c'],
        ['toString', 't'],
        ['__proto__', 'p'],
      ]);
      res.end('ok');
    });
    await new Promise<void>((r) => odd.listen(0, '127.0.0.1', r));
    const port = (odd.address() as AddressInfo).port;
    await core.allowlist.add([`http://127.0.0.1:${port}`], await core.unlockOwner(PASSPHRASE));
    try {
      const res = await client.callTool({
        name: 'api_call',
        arguments: { url: `http://127.0.0.1:${port}/`, injections: {} },
      });
      const headers = (res.structuredContent as { headers: Record<string, string> }).headers;
      expect(headers.constructor).toBe('c');
      expect(headers.tostring).toBe('t');
      expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toBe('p');
    } finally {
      await core.allowlist.remove([`http://127.0.0.1:${port}`], await core.unlockOwner(PASSPHRASE));
      await new Promise((r) => odd.close(r));
    }
  });

  it('returns policy errors as isError results with code and hint', async () => {
    const res = await client.callTool({
      name: 'api_call',
      arguments: { url: 'https://api.other.example/', injections: { bearer: 'API_KEY' } },
    });
    expect(res.isError).toBe(true);
    const text = (res.content as { text: string }[])[0]!.text;
    expect(text).toMatch(/^DOMAIN_NOT_ALLOWED: .+ — .*allowlist add/);
    const bad = await client.callTool({
      name: 'api_call',
      arguments: { url: `${upstream.origin}/echo`, injections: { cookie: 'API_KEY' } },
    });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad)).toContain('INVALID_INJECTION');
  });

  it('reads the audit log and status', async () => {
    await core.close();
    const audit = await client.callTool({ name: 'audit_log', arguments: { last: 10, secret: 'API_KEY' } });
    const events = (audit.structuredContent as { events: { status: string }[] }).events;
    expect(events.map((e) => e.status)).toEqual(['OK', 'BLOCKED']);
    const status = await client.callTool({ name: 'status', arguments: {} });
    expect(status.structuredContent).toMatchObject({
      backend: 'memory',
      secrets: 1,
      allowlist_size: 1,
      proxy: { running: false },
    });
  });
});
