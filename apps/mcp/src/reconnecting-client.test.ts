// The MCP server's client, against a stand-in proxy (a bare node:http server named in proxy.json): it opens nothing
// until asked, so `initialize` is answered first; a failure is looked at again on the next call, once however many
// calls arrive together.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReconnectingClient } from './reconnecting-client.js';

let home: string;
let proxy: Server;
let sessions: number;
let client: ReconnectingClient | undefined;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'as-mcp-client-'));
  sessions = 0;
  proxy = createServer((req, res) => {
    if (req.url === '/session') sessions += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url === '/secrets' ? '[]' : '{}');
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await rm(home, { recursive: true, force: true });
});

/** Names the stand-in in proxy.json, as a running proxy records itself. */
async function recordProxy(): Promise<void> {
  const { port } = proxy.address() as AddressInfo;
  const state = {
    pid: process.pid,
    host: '127.0.0.1',
    port,
    token: 'tok',
    startedAt: new Date().toISOString(),
  };
  await writeFile(join(home, 'proxy.json'), JSON.stringify(state), { mode: 0o600 });
}

describe('ReconnectingClient', () => {
  it('looks for the proxy only once prepared or called', async () => {
    await recordProxy();
    client = new ReconnectingClient({ home, env: {} });
    await sleep(200);
    expect(sessions).toBe(0);
    client.prepare();
    for (let i = 0; i < 100 && sessions === 0; i += 1) await sleep(20);
    expect(sessions).toBe(1);
    expect(await client!.listSecrets()).toEqual([]);
    expect(sessions).toBe(1);
  });

  it('after a failure looks again at the next call, once for calls that arrive together', async () => {
    // No proxy recorded and no home set up: the local path fails (nothing is set up here).
    client = new ReconnectingClient({ home, env: {} });
    await expect(client.listSecrets()).rejects.toMatchObject({ code: 'NOT_SET_UP' });
    await recordProxy();
    const answers = await Promise.all(Array.from({ length: 5 }, () => client!.listSecrets()));
    expect(answers).toEqual([[], [], [], [], []]);
    expect(sessions).toBe(1);
  });
});
