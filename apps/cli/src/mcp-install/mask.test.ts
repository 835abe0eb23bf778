import { describe, expect, it } from 'vitest';
import type { ClientTarget } from './clients.js';
import { planInstall } from './install.js';
import { maskForeignValues } from './mask.js';

const TOKEN = 'ghp_DRYRUN_CANARY_0123456789abcdef';
const server = { command: '/usr/bin/node', args: ['/opt/agentsecrets/bin.js', 'mcp', 'serve'] };

function plan(client: ClientTarget['client'], path: string, before: string) {
  const target = { client, path, installed: true } as ClientTarget;
  return planInstall([target], () => before, server)[0]!;
}

describe('mcp install --dry-run', () => {
  it('masks the values of other servers around the change, in JSON', () => {
    const before = `{
  "mcpServers": {
    "github": {
      "command": "docker",
      "args": ["run", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "--token=${TOKEN}"],
      "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "${TOKEN}" }
    }
  }
}
`;
    const { diff, after } = plan('cursor', '/h/.cursor/mcp.json', before);
    expect(after).toContain(TOKEN);
    expect(diff).not.toContain(TOKEN);
    expect(diff).toContain('"GITHUB_PERSONAL_ACCESS_TOKEN": "…"');
    expect(diff).toContain('+      "command": "/usr/bin/node"');
    expect(diff).toContain('"/opt/agentsecrets/bin.js"');
  });

  it('masks them in TOML, keeping table names', () => {
    const before = `[mcp_servers.github]
command = "npx"
args = ["-y", "server-github", '--token=${TOKEN}']
env = { GITHUB_PERSONAL_ACCESS_TOKEN = "${TOKEN}" }
`;
    const { diff } = plan('codex', '/h/.codex/config.toml', before);
    expect(diff).not.toContain(TOKEN);
    expect(diff).toContain('GITHUB_PERSONAL_ACCESS_TOKEN = "…"');
    expect(diff).toContain('+[mcp_servers.agentsecrets]');
    expect(diff).toContain('"/usr/bin/node"');
  });

  it('keeps keys, headers and our own values; masks the rest of every line', () => {
    const diff = [
      '--- /h/"x".json',
      '+++ /h/"x".json',
      '@@ -1,3 +1,4 @@',
      '   "a\\"b": "sec\\"ret",',
      `-  "k": ["${TOKEN}", "serve"],`,
      '+  "command": "/usr/bin/node",',
      ' [mcp_servers."my server"]',
    ].join('\n');
    expect(maskForeignValues(diff, ['/usr/bin/node', 'serve'], 'toml').split('\n')).toEqual([
      '--- /h/"x".json',
      '+++ /h/"x".json',
      '@@ -1,3 +1,4 @@',
      '   "a\\"b": "…",',
      '-  "k": ["…", "serve"],',
      '+  "command": "/usr/bin/node",',
      ' [mcp_servers."my server"]',
    ]);
  });
});
