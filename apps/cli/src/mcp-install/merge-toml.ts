import { isDeepStrictEqual } from 'node:util';
import { parse, TomlError } from 'smol-toml';
import type { ServerCommand } from './clients.js';
import { configInvalid, unsafeEdit } from './errors.js';
import { SERVER_NAME } from './merge-json.js';
import { type TomlStatement, tomlStatements } from './toml-statements.js';

type Table = Record<string, unknown>;

const TABLE_KEY = ['mcp_servers', SERVER_NAME];

/**
 * Registers the server as `[mcp_servers.agentsecrets]` in a Codex `config.toml` and returns the new text.
 *
 * TOML has no comment-preserving editor on npm, so the edit is textual, statement by statement: an existing table
 * keeps its header, its comments and every key but `command` and `args` (which are rewritten), and its sub-tables
 * (`[mcp_servers.agentsecrets.env]`) stay; a new table goes after the last `[mcp_servers.*]` table, or at the end.
 * smol-toml parses the input first (a file that does not parse is refused) and the output after: only our two keys
 * may differ.
 */
export function mergeTomlConfig(existing: string | undefined, server: ServerCommand, path: string): string {
  const raw = existing ?? '';
  const bom = raw.startsWith('\uFEFF') ? '\uFEFF' : '';
  const text = raw.slice(bom.length);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const before = parseToml(text, path);

  const servers = before.mcp_servers;
  if (servers !== undefined && !isTable(servers))
    throw configInvalid(path, 'has mcp_servers that is not a table');
  const entry = servers?.[SERVER_NAME];
  const env = Object.entries(server.env ?? {});
  const envHeld = env.every(([k, v]) => isTable(entry) && isTable(entry.env) && entry.env[k] === v);
  if (
    isTable(entry) &&
    entry.command === server.command &&
    isDeepStrictEqual(entry.args, [...server.args]) &&
    envHeld
  ) {
    return raw;
  }

  const statements = tomlStatements(text);
  if (statements.map((s) => text.slice(s.start, s.end)).join('') !== text) throw unsafeEdit(path);
  const ours = [
    `command = ${tomlString(server.command)}`,
    `args = [${server.args.map(tomlString).join(', ')}]`,
  ];
  const envPairs = (values: [string, unknown][]) =>
    values.map(([k, v]) => `${tomlKey(k)} = ${tomlString(String(v))}`).join(', ');
  const inlineEnv = (extra: Table = {}) =>
    `env = { ${envPairs(Object.entries({ ...extra, ...server.env }))} }`;
  const headerAt = statements.findIndex((s) => isHeader(s, TABLE_KEY));

  let out: string;
  if (headerAt >= 0) {
    // A remote entry (url = …) becomes ours whole; a stdio entry keeps what the user added (env, timeouts, …).
    const replaceAll = !isTable(entry) || !('command' in entry);
    const next = statements.findIndex((s, i) => i > headerAt && s.kind === 'header');
    const tableEnd = next < 0 ? statements.length : next;
    const inOurTable = (index: number) => index > headerAt && index < tableEnd;
    // Our variables go where the entry keeps its env: an inline table, a [mcp_servers.agentsecrets.env] table, or
    // dotted `env.NAME` keys; else a new inline table.
    const envTableAt = statements.findIndex((s) => isHeader(s, [...TABLE_KEY, 'env']));
    const envTableEnd = statements.findIndex((s, i) => i > envTableAt && s.kind === 'header');
    const inEnvTable = (index: number) =>
      envTableAt >= 0 && index > envTableAt && (envTableEnd < 0 || index < envTableEnd);
    const inlineAt = replaceAll
      ? -1
      : statements.findIndex((s, i) => inOurTable(i) && s.kind === 'pair' && isOneOf(s.key, ['env']));
    const dotted =
      !replaceAll &&
      statements.some(
        (s, i) => inOurTable(i) && s.kind === 'pair' && s.key.length === 2 && s.key[0] === 'env',
      );
    const ourEnv = (name: string) => env.some(([k]) => k === name);
    let head = [...ours];
    if (env.length > 0 && inlineAt < 0 && (envTableAt < 0 || replaceAll)) {
      head = dotted
        ? [...head, ...env.map(([k, v]) => `env.${tomlKey(k)} = ${tomlString(v)}`)]
        : [...head, inlineEnv()];
    }
    const pieces = statements.map((s, index) => {
      const piece = text.slice(s.start, s.end);
      if (index === headerAt) return `${withEol(piece, eol)}${head.map((line) => line + eol).join('')}`;
      if (index === inlineAt && env.length > 0) {
        return `${inlineEnv(isTable(entry) && isTable(entry.env) ? entry.env : {})}${eol}`;
      }
      if (inOurTable(index) && s.kind === 'pair') {
        if (replaceAll || isOneOf(s.key, ['command', 'args'])) return '';
        if (s.key.length === 2 && s.key[0] === 'env' && ourEnv(s.key[1]!)) return '';
      }
      if (!replaceAll && env.length > 0 && index === envTableAt) {
        return `${withEol(piece, eol)}${env.map(([k, v]) => `${tomlKey(k)} = ${tomlString(v)}${eol}`).join('')}`;
      }
      if (!replaceAll && inEnvTable(index) && s.kind === 'pair' && s.key.length === 1 && ourEnv(s.key[0]!))
        return '';
      return piece;
    });
    out = pieces.join('');
  } else if (entry !== undefined) {
    throw configInvalid(
      path,
      'defines mcp_servers.agentsecrets without a [mcp_servers.agentsecrets] table',
      'remove that entry (or turn it into a [mcp_servers.agentsecrets] table), then run `agentsecrets mcp install` again',
    );
  } else {
    out = insertTable(
      text,
      statements,
      [`[${TABLE_KEY.join('.')}]`, ...ours, ...(env.length > 0 ? [inlineEnv()] : [])],
      eol,
    );
  }

  verify(before, out, server, entry, path);
  return bom + out;
}

function parseToml(text: string, path: string): Table {
  try {
    return parse(text) as Table;
  } catch (e) {
    // Never the parser's message: it quotes the offending line, which may hold another tool's token.
    const where = e instanceof TomlError ? ` (line ${e.line}, column ${e.column})` : '';
    throw configInvalid(path, `is not valid TOML${where}`);
  }
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function isHeader(s: TomlStatement, key: readonly string[]): boolean {
  return s.kind === 'header' && !s.arrayTable && isDeepStrictEqual(s.key, key);
}

function isOneOf(key: readonly string[], names: readonly string[]): boolean {
  return key.length === 1 && names.includes(key[0]!);
}

function withEol(piece: string, eol: string): string {
  return piece.endsWith('\n') ? piece : piece + eol;
}

/**
 * Adds a new table after the last `[mcp_servers…]` table (before the comments and blank lines that lead into the
 * next table), or at the end of the file, with one blank line around it.
 */
function insertTable(text: string, statements: TomlStatement[], lines: string[], eol: string): string {
  let at = statements.length;
  const lastServers = statements.findLastIndex((s) => s.kind === 'header' && s.key[0] === 'mcp_servers');
  if (lastServers >= 0) {
    const next = statements.findIndex((s, i) => i > lastServers && s.kind === 'header');
    if (next >= 0) {
      at = next;
      while (at > lastServers + 1 && statements[at - 1]!.kind !== 'pair') at -= 1;
    }
  }
  const cut = statements[at]?.start ?? text.length;
  const head = text.slice(0, cut);
  const tail = text.slice(cut);
  const block = lines.map((line) => line + eol).join('');
  let prefix = head === '' ? '' : withEol(head, eol);
  // One blank line before the table, unless it starts the file or a blank line is already there.
  if (prefix.trim() !== '' && !/\n[ \t]*\r?\n$/.test(prefix)) prefix += eol;
  const gap = tail === '' || /^[ \t]*\r?\n/.test(tail) ? '' : eol;
  return `${prefix}${block}${gap}${tail}`;
}

/** A key, bare when TOML allows it, else quoted. */
function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}

/** A TOML string: a literal string for Windows paths (no escapes to read), else a basic string. */
function tomlString(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we look for
  if (value.includes('\\') && !/['\u0000-\u001f\u007f]/.test(value)) return `'${value}'`;
  // JSON escapes are TOML escapes, except that TOML also wants DEL escaped.
  return JSON.stringify(value).replace(/\u007f/g, '\\u007F');
}

function verify(before: Table, out: string, server: ServerCommand, entry: unknown, path: string): void {
  let after: Table;
  try {
    after = parse(out) as Table;
  } catch {
    throw unsafeEdit(path);
  }
  const next = (after.mcp_servers as Table | undefined)?.[SERVER_NAME];
  if (!isTable(next) || next.command !== server.command || !isDeepStrictEqual(next.args, [...server.args])) {
    throw unsafeEdit(path);
  }
  const env = server.env ?? {};
  if (Object.entries(env).some(([k, v]) => !isTable(next.env) || next.env[k] !== v)) throw unsafeEdit(path);
  if (!isDeepStrictEqual(withoutEntry(before), withoutEntry(after))) throw unsafeEdit(path);
  if (isTable(entry) && 'command' in entry) {
    for (const [k, v] of Object.entries(entry)) {
      if (k === 'command' || k === 'args') continue;
      if (k === 'env' && isTable(v) && isTable(next.env)) {
        // The user's variables stay; ours may have replaced one of the same name.
        for (const [n, x] of Object.entries(v))
          if (!(n in env) && !isDeepStrictEqual(next.env[n], x)) throw unsafeEdit(path);
      } else if (!isDeepStrictEqual(next[k], v)) throw unsafeEdit(path);
    }
  }
}

function withoutEntry(doc: Table): Table {
  const copy: Table = { ...doc };
  if (isTable(copy.mcp_servers)) {
    const rest: Table = { ...copy.mcp_servers };
    delete rest[SERVER_NAME];
    if (Object.keys(rest).length === 0) delete copy.mcp_servers;
    else copy.mcp_servers = rest;
  }
  return copy;
}
