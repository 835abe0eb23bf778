/** What a masked value reads as. */
export const MASK = '…';

// A JSON or TOML basic string, or a TOML literal string, on one line.
const STRING = /"(?:[^"\\\n]|\\.)*"|'[^'\n]*'/g;

function decoded(literal: string): string {
  if (literal.startsWith("'")) return literal.slice(1, -1);
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

/**
 * Masks the values in a config diff that AgentSecrets did not write. `mcp install --dry-run` prints lines of the
 * user's own file around the change — context, and lines it re-punctuates — and those can hold other servers'
 * credentials (`"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_…"`, `args = ["--token", "…"]`). Keys and table names stay
 * (they are names), and so do the values that are ours (`ours`: the server's command and arguments); every other
 * string value reads `"…"`. Header lines (`---`, `+++`, `@@`) are left as they are.
 */
export function maskForeignValues(diff: string, ours: readonly string[], format: 'json' | 'toml'): string {
  const keep = new Set(ours);
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('---') || line.startsWith('+++') || line.startsWith('@@')) return line;
      const body = line.slice(1);
      // A TOML table header names tables, not values: `[mcp_servers."my server"]`.
      if (format === 'toml' && /^\s*\[[^=]*\]\s*(#.*)?$/.test(body.replace(STRING, '""'))) return line;
      const masked = body.replace(STRING, (literal, offset: number) => {
        const after = body.slice(offset + literal.length);
        if (/^\s*[:=]/.test(after)) return literal;
        if (keep.has(decoded(literal))) return literal;
        const quote = literal[0]!;
        return `${quote}${MASK}${quote}`;
      });
      return line[0] + masked;
    })
    .join('\n');
}
