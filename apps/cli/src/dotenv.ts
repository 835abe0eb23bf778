import { AgentSecretsError } from '@agentsecrets/errors';

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

function unescapeDouble(text: string): string {
  return text.replace(
    /\\([nrt"\\])/g,
    (_m, c: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' })[c] ?? c,
  );
}

/**
 * Parses a dotenv file: `KEY=value`, optional `export `, `#` comments, single quotes (literal), double quotes (with
 * \n \t \" \\ escapes, may span lines), unquoted values trimmed with trailing ` # comment` removed. A malformed line
 * is an error naming its line number only — never its content, which may be a value.
 */
export function parseDotenv(text: string): [string, string][] {
  const out = new Map<string, string>();
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const m = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(raw);
    if (m === null || !KEY.test(m[1]!)) {
      throw new AgentSecretsError('INVALID_ARGUMENT', `line ${i + 1} of the dotenv file is not KEY=VALUE`, {
        hint: 'fix that line; nothing was imported',
      });
    }
    const name = m[1]!;
    let value = m[2]!;
    if (value.startsWith('"')) {
      let body = value.slice(1);
      while (!/(^|[^\\])(\\\\)*"$/.test(body) && i + 1 < lines.length) {
        i += 1;
        body += `\n${lines[i]}`;
      }
      if (!body.endsWith('"')) {
        throw new AgentSecretsError('INVALID_ARGUMENT', `the quoted value of ${name} is not closed`, {
          hint: 'add the closing "',
        });
      }
      value = unescapeDouble(body.slice(0, -1));
    } else if (value.startsWith("'")) {
      if (!value.endsWith("'") || value.length < 2) {
        throw new AgentSecretsError('INVALID_ARGUMENT', `the quoted value of ${name} is not closed`, {
          hint: "add the closing '",
        });
      }
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
    }
    out.set(name, value);
  }
  return [...out];
}
