// An MCP server lives as long as its client's session, longer than any one proxy: started before the service's proxy,
// it finds the proxy once it runs (locked, then unlocked); when the proxy is restarted (a new session token) it
// reconnects. On the built CLI with a real MCP client and the real proxy.
import { rm } from 'node:fs/promises';
import { startUpstream, type Upstream } from '@agentsecrets/testkit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, run } from './helpers.js';
import { type ProxyProcess, preparedMachine, startProxyProcess } from './proxy-process.js';

let upstream: Upstream;
let machine: Awaited<ReturnType<typeof preparedMachine>>;
let bare: NodeJS.ProcessEnv;
let mcp: Client;
let proxy: ProxyProcess | undefined;

beforeAll(async () => {
  upstream = await startUpstream();
  machine = await preparedMachine([upstream.origin]);
  bare = { ...machine.env };
  delete bare.AGENTSECRETS_PASSPHRASE;
  mcp = new Client({ name: 'reconnect-test', version: '1.0.0' });
  await mcp.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', 'serve'],
      env: bare as Record<string, string>,
      cwd: machine.project,
      stderr: 'pipe',
    }),
  );
});

afterAll(async () => {
  await mcp?.close();
  await proxy?.stop();
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

async function apiCall(): Promise<{ isError: boolean; text: string }> {
  const res = (await mcp.callTool({
    name: 'api_call',
    arguments: { url: `${upstream.origin}/echo`, injections: { bearer: 'API_KEY' } },
  })) as { isError?: boolean; content: { text: string }[] };
  return { isError: res.isError === true, text: res.content.map((c) => c.text).join('\n') };
}

describe('an MCP server started before the proxy', () => {
  it('without a proxy, says what to type', async () => {
    const r = await apiCall();
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(
      /^PASSPHRASE_REQUIRED: .*`agentsecrets service install` then `agentsecrets unlock`/,
    );
  });

  it('finds the proxy once it runs: locked, then unlocked', async () => {
    proxy = await startProxyProcess({ env: bare, project: machine.project }, { args: ['--locked'] });
    const locked = await apiCall();
    expect(locked.isError).toBe(true);
    expect(locked.text).toMatch(/^VAULT_LOCKED: .*`agentsecrets unlock`/);
    const unlock = await run(['unlock', '--stdin'], {
      env: bare,
      cwd: machine.project,
      input: machine.env.AGENTSECRETS_PASSPHRASE as string,
    });
    expect(unlock.code, unlock.stderr).toBe(0);
    const open = await apiCall();
    expect(open.isError, open.text).toBe(false);
    expect(upstream.requests).toHaveLength(1);
  });

  it('reconnects to a proxy restarted on its port with a new session token (UNAUTHORIZED, nothing sent)', async () => {
    const before = proxy as ProxyProcess;
    await before.stop();
    proxy = await startProxyProcess(machine, { args: ['--port', String(before.port)] });
    expect(proxy.port).toBe(before.port);
    expect(proxy.token).not.toBe(before.token);
    const r = await apiCall();
    expect(r.isError, r.text).toBe(false);
    expect(upstream.requests).toHaveLength(2);
  });

  it('reconnects to a proxy restarted on another port (nothing listened where it was)', async () => {
    await proxy?.stop();
    proxy = await startProxyProcess(machine);
    const r = await apiCall();
    expect(r.isError, r.text).toBe(false);
    expect(upstream.requests).toHaveLength(3);
  });
});
