import fc from 'fast-check';
import jsonc from 'jsonc-parser';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { mergeClientConfig, type ServerCommand } from './index.js';

const SERVER: ServerCommand = { command: '/usr/bin/node', args: ['/opt/as/dist/bin.js', 'mcp', 'serve'] };
const CANARY = 'sk_live_CANARY_7f3a9b';

function refusal(run: () => unknown): { code: string; message: string; hint: string } {
  try {
    run();
  } catch (e) {
    const err = e as { code: string; message: string; hint: string };
    return { code: err.code, message: err.message, hint: err.hint };
  }
  throw new Error('expected a refusal');
}

describe('mergeClientConfig refuses what it will not edit', () => {
  it('refuses JSON that does not parse, naming the file and the position, never its content', () => {
    const text = `{\n  "mcpServers": {\n    "x": { "env": { "KEY": "${CANARY}" } \n  }\n`;
    const err = refusal(() => mergeClientConfig('cursor', text, SERVER, '/home/me/.cursor/mcp.json'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(
      /^\/home\/me\/\.cursor\/mcp\.json is not valid JSON \(line \d+, column \d+\); nothing was changed$/,
    );
    expect(`${err.message} ${err.hint}`).not.toContain(CANARY);
  });

  it('refuses TOML that does not parse without quoting the parser (which quotes the line)', () => {
    const text = `model = "x"\ntoken = = "${CANARY}"\n`;
    const err = refusal(() => mergeClientConfig('codex', text, SERVER, '/home/me/.codex/config.toml'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(
      '/home/me/.codex/config.toml is not valid TOML (line 2, column 9); nothing was changed',
    );
    expect(`${err.message} ${err.hint}`).not.toContain(CANARY);
  });

  it.each([
    ['a top-level array', '[1, 2]', /does not hold a JSON object/],
    ['a server list that is not an object', '{ "mcpServers": [] }', /"mcpServers" that is not an object/],
    ['a duplicated server list', '{ "mcpServers": {}, "mcpServers": {} }', /"mcpServers" more than once/],
    [
      'a duplicated entry',
      '{ "mcpServers": { "agentsecrets": {}, "agentsecrets": {} } }',
      /"agentsecrets" more than once/,
    ],
  ])('refuses %s', (_what, text, message) => {
    const err = refusal(() => mergeClientConfig('gemini', text, SERVER, 'settings.json'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^settings\.json .*; nothing was changed$/);
  });

  it('refuses a Codex entry written as dotted keys, and an inline server table it cannot extend', () => {
    const dotted = '[mcp_servers]\nagentsecrets.command = "node"\n';
    expect(refusal(() => mergeClientConfig('codex', dotted, SERVER)).message).toMatch(
      /defines mcp_servers.agentsecrets without a \[mcp_servers.agentsecrets\] table/,
    );
    const inline = 'mcp_servers = { other = { command = "x" } }\n';
    const err = refusal(() => mergeClientConfig('codex', inline, SERVER));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/could not be edited without touching other settings/);
  });

  it('refuses an unknown client', () => {
    const err = refusal(() => mergeClientConfig('zed' as 'cursor', '{}', SERVER));
    expect(err.code).toBe('INVALID_ARGUMENT');
  });
});

describe('mergeClientConfig keeps the file as it was written', () => {
  it('turns a missing, empty or comment-only file into a minimal document', () => {
    const minimal = mergeClientConfig('cursor', undefined, SERVER);
    expect(JSON.parse(minimal)).toEqual({
      mcpServers: { agentsecrets: { command: SERVER.command, args: SERVER.args } },
    });
    expect(mergeClientConfig('cursor', '  \n', SERVER)).toBe(minimal);
    const commented = mergeClientConfig('gemini', '// my settings\n', SERVER);
    expect(commented.startsWith('// my settings\n{\n')).toBe(true);
    expect(mergeClientConfig('codex', '', SERVER)).toBe(mergeClientConfig('codex', undefined, SERVER));
  });

  it('keeps a single-line document on one line, with or without spaces', () => {
    expect(mergeClientConfig('windsurf', '{"a":1}', SERVER)).toBe(
      '{"a":1,"mcpServers":{"agentsecrets":{"command":"/usr/bin/node","args":["/opt/as/dist/bin.js","mcp","serve"]}}}',
    );
    expect(mergeClientConfig('windsurf', '{ "a": 1 }', SERVER)).toBe(
      '{ "a": 1, "mcpServers": {"agentsecrets": {"command": "/usr/bin/node", "args": ["/opt/as/dist/bin.js", "mcp", "serve"]}} }',
    );
    expect(mergeClientConfig('windsurf', '{}', SERVER)).toBe(
      '{"mcpServers":{"agentsecrets":{"command":"/usr/bin/node","args":["/opt/as/dist/bin.js","mcp","serve"]}}}',
    );
  });

  it('fills an empty server object, also one holding only comments', () => {
    expect(mergeClientConfig('cursor', '{\n  "mcpServers": {}\n}\n', SERVER)).toBe(
      '{\n  "mcpServers": {\n    "agentsecrets": {\n      "command": "/usr/bin/node",\n' +
        '      "args": ["/opt/as/dist/bin.js", "mcp", "serve"]\n    }\n  }\n}\n',
    );
    const commented = '{\n  "mcpServers": {\n    // none yet\n  }\n}\n';
    expect(mergeClientConfig('cursor', commented, SERVER)).toBe(
      '{\n  "mcpServers": {\n    // none yet\n    "agentsecrets": {\n      "command": "/usr/bin/node",\n' +
        '      "args": ["/opt/as/dist/bin.js", "mcp", "serve"]\n    }\n  }\n}\n',
    );
  });

  it('keeps a byte-order mark', () => {
    const out = mergeClientConfig('cursor', '\uFEFF{\n  "a": 1\n}\n', SERVER);
    expect(out.startsWith('\uFEFF{\n  "a": 1,\n  "mcpServers"')).toBe(true);
    expect(mergeClientConfig('cursor', out, SERVER)).toBe(out);
  });

  it('replaces a remote server or a non-object that squats our name, whole', () => {
    const remote = '{\n  "mcpServers": {\n    "agentsecrets": { "url": "https://example.com/mcp" }\n  }\n}\n';
    const out = mergeClientConfig('claude-desktop', remote, SERVER);
    expect(JSON.parse(out).mcpServers.agentsecrets).toEqual({ command: SERVER.command, args: SERVER.args });
    const odd = '{\n  "servers": {\n    "agentsecrets": "todo"\n  }\n}\n';
    expect(JSON.parse(mergeClientConfig('vscode', odd, SERVER)).servers.agentsecrets).toEqual({
      type: 'stdio',
      command: SERVER.command,
      args: SERVER.args,
    });
    const toml =
      '[mcp_servers.agentsecrets]\nurl = "https://example.com/mcp"\n\n[mcp_servers.agentsecrets.http_headers]\nX = "y"\n';
    expect(parseToml(mergeClientConfig('codex', toml, SERVER))).toEqual({
      mcp_servers: { agentsecrets: { command: SERVER.command, args: SERVER.args, http_headers: { X: 'y' } } },
    });
  });

  it('only touches the user scope of ~/.claude.json, never a project-scoped entry', () => {
    const text = JSON.stringify(
      { projects: { '/p': { mcpServers: { agentsecrets: { command: 'old' } } } } },
      null,
      2,
    );
    const out = JSON.parse(mergeClientConfig('claude-code', text, SERVER));
    expect(out.projects['/p'].mcpServers.agentsecrets).toEqual({ command: 'old' });
    expect(out.mcpServers.agentsecrets).toEqual({
      type: 'stdio',
      command: SERVER.command,
      args: SERVER.args,
    });
  });

  it('writes Windows paths readably and exactly, in both formats', () => {
    const win: ServerCommand = {
      command: 'C:\\Program Files\\nodejs\\node.exe',
      args: [
        "C:\\Users\\o'brien\\AppData\\Roaming\\npm\\node_modules\\agentsecrets\\dist\\bin.js",
        'mcp',
        'serve',
      ],
    };
    const toml = mergeClientConfig('codex', undefined, win);
    expect(toml).toContain("command = 'C:\\Program Files\\nodejs\\node.exe'");
    expect(parseToml(toml)).toEqual({
      mcp_servers: { agentsecrets: { command: win.command, args: win.args } },
    });
    expect(JSON.parse(mergeClientConfig('cursor', undefined, win)).mcpServers.agentsecrets.args).toEqual(
      win.args,
    );
  });

  it('rewrites an entry when the server moves, and leaves it alone when it has not', () => {
    const first = mergeClientConfig('codex', 'model = "x"\n', SERVER);
    const moved: ServerCommand = { command: '/usr/local/bin/node', args: ['/new/bin.js', 'mcp', 'serve'] };
    const second = mergeClientConfig('codex', first, moved);
    expect(second).toBe(
      first.replace('/usr/bin/node', '/usr/local/bin/node').replace('/opt/as/dist/bin.js', '/new/bin.js'),
    );
    expect(mergeClientConfig('codex', second, moved)).toBe(second);
  });
});

describe('mergeClientConfig on generated documents', () => {
  // No `__proto__` key at any depth: the merge keeps it (it edits text), but jsonc-parser's parse, used to check,
  // drops it.
  const key = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__');
  const server = fc.record({
    command: fc.string({ maxLength: 12 }),
    args: fc.array(fc.string({ maxLength: 6 })),
  });

  it('JSON: any indentation, other keys and servers survive; merging twice is merging once', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          key,
          fc.jsonValue({ maxDepth: 2 }).filter((v) => !JSON.stringify(v).includes('"__proto__"')),
        ),
        fc.option(fc.dictionary(key, server), { nil: undefined }),
        fc.constantFrom(0, 2, 4, '\t'),
        fc.boolean(),
        (others, servers, indent, crlf) => {
          const doc: Record<string, unknown> = { ...others };
          delete doc.mcpServers;
          if (servers !== undefined) doc.mcpServers = servers;
          let text = JSON.stringify(doc, null, indent);
          if (crlf) text = text.replace(/\n/g, '\r\n');
          const out = mergeClientConfig('cursor', text, SERVER);
          const next = jsonc.parse(out) as Record<string, Record<string, unknown>>;
          const { agentsecrets, ...rest } = next.mcpServers ?? {};
          expect(agentsecrets).toMatchObject({ command: SERVER.command, args: SERVER.args });
          const { agentsecrets: _old, ...restBefore } = (servers ?? {}) as Record<string, unknown>;
          expect(rest).toEqual(restBefore);
          const { mcpServers: _a, ...otherAfter } = next;
          const { mcpServers: _b, ...otherBefore } = JSON.parse(text) as Record<string, unknown>;
          expect(otherAfter).toEqual(otherBefore);
          expect(mergeClientConfig('cursor', out, SERVER)).toBe(out);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('TOML: other tables and servers survive; merging twice is merging once', () => {
    const scalar = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean());
    const table = fc.dictionary(key, fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })), { maxKeys: 3 });
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.oneof(scalar, table), { maxKeys: 5 }),
        fc.option(fc.dictionary(key, server, { maxKeys: 3 }), { nil: undefined }),
        (others, servers) => {
          const doc: Record<string, unknown> = { ...others };
          delete doc.mcp_servers;
          if (servers !== undefined) doc.mcp_servers = servers;
          const text = stringifyToml(doc);
          const out = mergeClientConfig('codex', text, SERVER);
          const next = parseToml(out) as Record<string, Record<string, unknown>>;
          const { agentsecrets, ...rest } = next.mcp_servers ?? {};
          expect(agentsecrets).toMatchObject({ command: SERVER.command, args: SERVER.args });
          const { agentsecrets: _old, ...restBefore } = (servers ?? {}) as Record<string, unknown>;
          expect(rest).toEqual(restBefore);
          const { mcp_servers: _a, ...otherAfter } = next;
          const { mcp_servers: _b, ...otherBefore } = parseToml(text) as Record<string, unknown>;
          expect(otherAfter).toEqual(otherBefore);
          expect(mergeClientConfig('codex', out, SERVER)).toBe(out);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('mergeClientConfig with a custom AGENTSECRETS_HOME (issue 13)', () => {
  const WITH_HOME: ServerCommand = { ...SERVER, env: { AGENTSECRETS_HOME: '/srv/as-home' } };

  it('writes env.AGENTSECRETS_HOME into a new JSON entry and a new TOML table', () => {
    const json = jsonc.parse(mergeClientConfig('cursor', undefined, WITH_HOME));
    expect(json.mcpServers.agentsecrets.env).toEqual({ AGENTSECRETS_HOME: '/srv/as-home' });
    const toml = parseToml(mergeClientConfig('codex', 'model = "o3"\n', WITH_HOME)) as {
      mcp_servers: { agentsecrets: { env: unknown; enabled: unknown } };
    };
    expect(toml.mcp_servers.agentsecrets.env).toEqual({ AGENTSECRETS_HOME: '/srv/as-home' });
  });

  it("merges it into the entry's env, keeping the user's variables and fields", () => {
    const before = `{\n  "mcpServers": {\n    "agentsecrets": {\n      "command": "node",\n      "args": [],\n      "disabled": true,\n      "env": { "DEBUG": "1", "AGENTSECRETS_HOME": "/old" }\n    }\n  }\n}\n`;
    const after = mergeClientConfig('claude-desktop', before, WITH_HOME);
    const entry = jsonc.parse(after).mcpServers.agentsecrets;
    expect(entry.env).toEqual({ DEBUG: '1', AGENTSECRETS_HOME: '/srv/as-home' });
    expect(entry.disabled).toBe(true);
    expect(mergeClientConfig('claude-desktop', after, WITH_HOME)).toBe(after);
  });

  it('merges it into a TOML inline env, an env table, or dotted env keys', () => {
    for (const env of [
      'env = { DEBUG = "1" }\n',
      '\n[mcp_servers.agentsecrets.env]\nDEBUG = "1"\nAGENTSECRETS_HOME = "/old"\n',
      'env.DEBUG = "1"\nenv.AGENTSECRETS_HOME = "/old"\n',
    ]) {
      const before = `[mcp_servers.agentsecrets]\ncommand = "node"\nargs = []\nenabled = false\n${env}`;
      const after = mergeClientConfig('codex', before, WITH_HOME);
      const entry = (
        parseToml(after) as { mcp_servers: { agentsecrets: { env: unknown; enabled: unknown } } }
      ).mcp_servers.agentsecrets;
      expect(entry.env, env).toEqual({ DEBUG: '1', AGENTSECRETS_HOME: '/srv/as-home' });
      expect(entry.enabled).toBe(false);
      expect(mergeClientConfig('codex', after, WITH_HOME)).toBe(after);
    }
  });
});
