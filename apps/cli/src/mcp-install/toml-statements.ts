/**
 * Splits a TOML document (already known to parse) into top-level statements, each with its exact text span, so an
 * edit can drop or add whole statements and leave every other byte alone. Statements tile the text: joining their
 * spans gives the document back.
 */
export interface TomlStatement {
  readonly kind: 'blank' | 'comment' | 'header' | 'pair';
  /** The dotted key of a header or pair, unquoted. */
  readonly key: readonly string[];
  /** `[[array.of.tables]]`. */
  readonly arrayTable: boolean;
  readonly start: number;
  /** Just past the statement's line break (or the end of the text). */
  readonly end: number;
}

export function tomlStatements(text: string): TomlStatement[] {
  const out: TomlStatement[] = [];
  let i = 0;
  while (i < text.length) {
    const start = i;
    const j = skipSpaces(text, i);
    const c = text[j];
    let statement: TomlStatement;
    if (c === undefined || c === '\n' || c === '\r') {
      statement = { kind: 'blank', key: [], arrayTable: false, start, end: lineEnd(text, j) };
    } else if (c === '#') {
      statement = { kind: 'comment', key: [], arrayTable: false, start, end: lineEnd(text, j) };
    } else if (c === '[') {
      const arrayTable = text[j + 1] === '[';
      const [key, k] = readKey(text, j + (arrayTable ? 2 : 1));
      const close = skipSpaces(text, k) + (arrayTable ? 2 : 1);
      statement = { kind: 'header', key, arrayTable, start, end: lineEnd(text, close) };
    } else {
      const [key, k] = readKey(text, j);
      const value = skipValue(text, skipSpaces(text, skipSpaces(text, k) + 1));
      statement = { kind: 'pair', key, arrayTable: false, start, end: lineEnd(text, value) };
    }
    if (statement.end <= start) throw new Error('TOML scanner made no progress');
    out.push(statement);
    i = statement.end;
  }
  return out;
}

function skipSpaces(text: string, i: number): number {
  let k = i;
  while (text[k] === ' ' || text[k] === '\t') k += 1;
  return k;
}

/** Past trailing spaces, an optional comment and the line break. */
function lineEnd(text: string, i: number): number {
  let k = skipSpaces(text, i);
  if (text[k] === '#') while (k < text.length && text[k] !== '\n') k += 1;
  while (k < text.length && text[k] !== '\n') k += 1;
  return k < text.length ? k + 1 : k;
}

function skipBlankAndComments(text: string, i: number): number {
  let k = i;
  for (;;) {
    const c = text[k];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') k += 1;
    else if (c === '#') while (k < text.length && text[k] !== '\n') k += 1;
    else return k;
  }
}

function readKey(text: string, i: number): [string[], number] {
  const parts: string[] = [];
  let k = i;
  for (;;) {
    k = skipSpaces(text, k);
    const c = text[k];
    if (c === '"') {
      const end = skipBasicString(text, k);
      parts.push(decodeBasic(text.slice(k, end)));
      k = end;
    } else if (c === "'") {
      const end = text.indexOf("'", k + 1);
      parts.push(text.slice(k + 1, end));
      k = end + 1;
    } else {
      const bare = /^[A-Za-z0-9_-]+/.exec(text.slice(k, k + 256));
      parts.push(bare?.[0] ?? '');
      k += bare?.[0].length ?? 0;
    }
    k = skipSpaces(text, k);
    if (text[k] !== '.') return [parts, k];
    k += 1;
  }
}

function decodeBasic(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    // TOML-only escapes (\e, \xHH, \UXXXXXXXX): close enough for comparing key names.
    return quoted.slice(1, -1);
  }
}

function skipBasicString(text: string, i: number): number {
  let k = i + 1;
  while (k < text.length && text[k] !== '"') k += text[k] === '\\' ? 2 : 1;
  return k + 1;
}

function skipMultiline(text: string, i: number, quote: string, escapes: boolean): number {
  const delimiter = quote.repeat(3);
  let k = i + 3;
  while (k < text.length) {
    if (escapes && text[k] === '\\') k += 2;
    else if (text.startsWith(delimiter, k)) {
      k += 3;
      // Up to two quotes may sit right before the closing delimiter: `"""a""""` is `a"`.
      for (let extra = 0; extra < 2 && text[k] === quote; extra += 1) k += 1;
      return k;
    } else k += 1;
  }
  return k;
}

function skipValue(text: string, i: number): number {
  const c = text[i];
  if (text.startsWith('"""', i)) return skipMultiline(text, i, '"', true);
  if (text.startsWith("'''", i)) return skipMultiline(text, i, "'", false);
  if (c === '"') return skipBasicString(text, i);
  if (c === "'") return text.indexOf("'", i + 1) + 1;
  if (c === '[' || c === '{') {
    const close = c === '[' ? ']' : '}';
    let k = i + 1;
    for (;;) {
      k = skipBlankAndComments(text, k);
      if (k >= text.length) return k;
      if (text[k] === close) return k + 1;
      if (c === '{') {
        const [, afterKey] = readKey(text, k);
        k = skipSpaces(text, afterKey) + 1;
        k = skipBlankAndComments(text, k);
      }
      k = skipBlankAndComments(text, skipValue(text, k));
      if (text[k] === ',') k += 1;
    }
  }
  // Numbers, booleans, dates (which may hold a space): up to a delimiter, a comment or the line end.
  let k = i;
  while (k < text.length && !',]}#\r\n'.includes(text[k]!)) k += 1;
  return k;
}
