import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jsonc from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { MCP_CLIENTS, type McpClientName, mergeClientConfig, type ServerCommand } from './index.js';

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
const SERVER: ServerCommand = {
  command: '/usr/bin/node',
  args: ['/usr/local/lib/node_modules/agentsecrets/dist/bin.js', 'mcp', 'serve'],
};

interface Case {
  readonly name: string;
  readonly client: McpClientName;
  /** False: the config file does not exist yet. */
  readonly input: boolean;
}

const CASES: readonly Case[] = [
  ...MCP_CLIENTS.map((client) => ({ name: client, client, input: true })),
  { name: 'codex-replace', client: 'codex', input: true },
  { name: 'windsurf-new', client: 'windsurf', input: false },
  { name: 'codex-new', client: 'codex', input: false },
];

function read(name: string): string {
  return readFileSync(join(GOLDEN, name), 'utf8');
}

/** The document as a client reads it, minus our entry. */
function parsed(client: McpClientName, text: string): Record<string, unknown> {
  return client === 'codex'
    ? (parseToml(text) as Record<string, unknown>)
    : (jsonc.parse(text, [], { allowTrailingComma: true }) as Record<string, unknown>);
}

function serversOf(client: McpClientName, doc: Record<string, unknown>): Record<string, unknown> {
  const key = client === 'codex' ? 'mcp_servers' : client === 'vscode' ? 'servers' : 'mcpServers';
  return (doc[key] ?? {}) as Record<string, unknown>;
}

describe('mergeClientConfig golden files', () => {
  for (const c of CASES) {
    const ext = c.client === 'codex' ? 'toml' : 'json';
    it(`${c.name}: matches ${c.name}.expected.${ext}`, () => {
      const input = c.input ? read(`${c.name}.input.${ext}`) : undefined;
      const out = mergeClientConfig(c.client, input, SERVER);
      const expectedPath = join(GOLDEN, `${c.name}.expected.${ext}`);
      // Regenerate on purpose only (UPDATE_GOLDEN=1), then review the diff: a missing file is a failure.
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedPath, out);
      expect(existsSync(expectedPath)).toBe(true);
      expect(out).toBe(readFileSync(expectedPath, 'utf8'));
    });

    it(`${c.name}: is idempotent`, () => {
      const input = c.input ? read(`${c.name}.input.${ext}`) : undefined;
      const once = mergeClientConfig(c.client, input, SERVER);
      expect(mergeClientConfig(c.client, once, SERVER)).toBe(once);
    });

    it(`${c.name}: changes nothing but the agentsecrets entry`, () => {
      const input = c.input ? read(`${c.name}.input.${ext}`) : undefined;
      const out = mergeClientConfig(c.client, input, SERVER);
      const before = input === undefined ? {} : parsed(c.client, input);
      const after = parsed(c.client, out);
      const { agentsecrets: oldEntry, ...otherServersBefore } = serversOf(c.client, before);
      const { agentsecrets: newEntry, ...otherServersAfter } = serversOf(c.client, after);
      expect(otherServersAfter).toEqual(otherServersBefore);
      const rest = (doc: Record<string, unknown>) =>
        Object.fromEntries(
          Object.entries(doc).filter(([k]) => !['mcp_servers', 'servers', 'mcpServers'].includes(k)),
        );
      expect(rest(after)).toEqual(rest(before));
      expect(newEntry).toMatchObject({ command: SERVER.command, args: SERVER.args });
      if (c.client === 'vscode' || c.client === 'claude-code')
        expect(newEntry).toMatchObject({ type: 'stdio' });
      // Fields the user added to an existing entry survive.
      for (const [k, v] of Object.entries((oldEntry ?? {}) as Record<string, unknown>)) {
        if (!['command', 'args', 'type'].includes(k))
          expect((newEntry as Record<string, unknown>)[k]).toEqual(v);
      }
    });
  }

  it('keeps every comment of the inputs', () => {
    for (const c of CASES.filter((x) => x.input)) {
      const ext = c.client === 'codex' ? 'toml' : 'json';
      const input = read(`${c.name}.input.${ext}`);
      const out = mergeClientConfig(c.client, input, SERVER);
      const comments = input.match(c.client === 'codex' ? /#.*$/gm : /\/\/.*$|\/\*[\s\S]*?\*\//gm) ?? [];
      // The comments inside the replaced codex keys (`# old`, `# the subcommand`) are ours to drop.
      const ours = c.name === 'codex-replace' ? ['# old', '# the subcommand'] : [];
      for (const comment of comments.filter((x) => !ours.includes(x.trim()))) expect(out).toContain(comment);
    }
  });
});
