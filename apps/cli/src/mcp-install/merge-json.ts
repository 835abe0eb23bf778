import { isDeepStrictEqual } from 'node:util';
import jsonc from 'jsonc-parser';
import { configInvalid, position, unsafeEdit } from './errors.js';

/** The server entry's name in every client config. */
export const SERVER_NAME = 'agentsecrets';

type JsonValue = string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
type Entry = Readonly<Record<string, string | readonly string[] | Readonly<Record<string, string>>>>;

interface Style {
  /** One indentation step, as the file writes it. */
  readonly unit: string;
  readonly eol: string;
  /** The document is written on a single line (minified, or `{ "a": 1 }`): keep it on one line. */
  readonly compact: boolean;
  /** `"a": 1, "b"` rather than `"a":1,"b"`, for single-line output. */
  readonly spaced: boolean;
}

// jsonc.SyntaxKind is a const enum, which verbatimModuleSyntax cannot read: its values, as the library declares them.
const COMMA = 5 as jsonc.SyntaxKind;
const LINE_COMMENT = 12 as jsonc.SyntaxKind;
const BLOCK_COMMENT = 13 as jsonc.SyntaxKind;
const LINE_BREAK = 14 as jsonc.SyntaxKind;
const TRIVIA = 15 as jsonc.SyntaxKind;

const PARSE_OPTIONS: jsonc.ParseOptions = { allowTrailingComma: true, disallowComments: false };
// Keys that make an entry a remote server: such an entry is replaced whole, not patched.
const REMOTE_KEYS = ['url', 'serverUrl', 'httpUrl'];

/**
 * Registers `entry` as `<serversKey>.agentsecrets` in a JSON (or JSONC) document and returns the new text.
 *
 * The edit is textual and minimal: everything outside the entry keeps its bytes (comments, trailing commas, key
 * order, indentation, line endings). We build the edits ourselves and apply them with `jsonc.applyEdits`, because
 * `jsonc.modify` reformats the whole line it inserts on, which rewrites a neighbouring server and moves its comment.
 * An existing stdio entry is patched field by field, so fields the user added (`env`, `disabled`, …) stay.
 * The result is checked by parsing it again: only the entry may differ.
 */
export function mergeJsonConfig(
  existing: string | undefined,
  serversKey: string,
  entry: Entry,
  path: string,
): string {
  const raw = existing ?? '';
  const bom = raw.startsWith('\uFEFF') ? '\uFEFF' : '';
  const text = raw.slice(bom.length);
  const style = detectStyle(text);

  if (jsonc.stripComments(text).trim() === '') {
    // A missing or empty file (comments alone count as empty): a minimal document, after any comments.
    const doc = render({ [serversKey]: { [SERVER_NAME]: entry } }, '', {
      ...style,
      compact: false,
      spaced: true,
    });
    const head = text.trim() === '' ? '' : `${text.trimEnd()}${style.eol}`;
    const out = `${head}${doc}${style.eol}`;
    verify(undefined, out, serversKey, entry, path);
    return bom + out;
  }

  const root = parseRoot(text, path);
  const servers = uniqueProperty(root, serversKey, path);
  const current = servers === undefined ? undefined : jsonc.getNodeValue(servers.children![1]!);
  if (servers !== undefined && !isObjectNode(servers.children![1])) {
    throw configInvalid(path, `has "${serversKey}" that is not an object`);
  }
  const existingEntry = (current as Record<string, unknown> | undefined)?.[SERVER_NAME];
  if (isSameEntry(existingEntry, entry)) return raw;

  let out: string;
  if (servers === undefined) {
    out = applyEdit(text, insertProperty(text, root, serversKey, { [SERVER_NAME]: entry }, style));
  } else {
    const serversObject = servers.children![1]!;
    const property = uniqueProperty(serversObject, SERVER_NAME, path);
    if (property === undefined) {
      out = applyEdit(text, insertProperty(text, serversObject, SERVER_NAME, entry, style));
    } else if (!isObjectNode(property.children![1]) || isRemote(existingEntry)) {
      out = applyEdit(text, replaceValue(text, property.children![1]!, entry, style));
    } else {
      // Patch our fields one at a time, re-reading the tree after each edit; `env` variable by variable.
      out = text;
      for (const [field, value] of Object.entries(entry)) {
        const entryNode = jsonc.findNodeAtLocation(parseRoot(out, path), [serversKey, SERVER_NAME])!;
        const fieldProperty = findProperty(entryNode, field);
        if (fieldProperty === undefined) {
          out = applyEdit(out, insertProperty(out, entryNode, field, value, style));
        } else if (isVariables(value) && isObjectNode(fieldProperty.children![1])) {
          for (const [name, v] of Object.entries(value)) {
            const envNode = jsonc.findNodeAtLocation(parseRoot(out, path), [serversKey, SERVER_NAME, field])!;
            const variable = findProperty(envNode, name);
            if (variable === undefined) out = applyEdit(out, insertProperty(out, envNode, name, v, style));
            else if (jsonc.getNodeValue(variable.children![1]!) !== v)
              out = applyEdit(out, replaceValue(out, variable.children![1]!, v, style));
          }
        } else if (!isDeepStrictEqual(jsonc.getNodeValue(fieldProperty.children![1]!), value)) {
          out = applyEdit(out, replaceValue(out, fieldProperty.children![1]!, value, style));
        }
      }
    }
  }
  verify(text, out, serversKey, entry, path);
  return bom + out;
}

function parseRoot(text: string, path: string): jsonc.Node {
  const errors: jsonc.ParseError[] = [];
  const root = jsonc.parseTree(text, errors, PARSE_OPTIONS);
  const first = errors[0];
  if (first !== undefined) throw configInvalid(path, `is not valid JSON (${position(text, first.offset)})`);
  if (root?.type !== 'object') throw configInvalid(path, 'does not hold a JSON object at the top level');
  return root;
}

function isObjectNode(node: jsonc.Node | undefined): node is jsonc.Node {
  return node?.type === 'object';
}

function findProperty(object: jsonc.Node, key: string): jsonc.Node | undefined {
  return object.children?.find((p) => p.children?.[0]?.value === key);
}

/** The property `key` of `object`, refusing a key that appears twice (parsers disagree on which one wins). */
function uniqueProperty(object: jsonc.Node, key: string, path: string): jsonc.Node | undefined {
  const found = object.children?.filter((p) => p.children?.[0]?.value === key) ?? [];
  if (found.length > 1) throw configInvalid(path, `has "${key}" more than once`);
  return found[0];
}

function isRemote(value: unknown): boolean {
  return typeof value === 'object' && value !== null && REMOTE_KEYS.some((k) => k in value);
}

/** An `env` object of ours: variable names to strings. */
function isVariables(value: unknown): value is Readonly<Record<string, string>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The entry holds ours: the same `command` and `args`, and at least our `env` variables (the user's may be there). */
function isSameEntry(value: unknown, entry: Entry): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return Object.entries(entry).every(([k, v]) =>
    isVariables(v)
      ? isVariables(record[k]) &&
        Object.entries(v).every(([n, x]) => (record[k] as Record<string, unknown>)[n] === x)
      : isDeepStrictEqual(record[k], v),
  );
}

function detectStyle(text: string): Style {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const compact = text.trim() !== '' && !text.trim().includes('\n');
  const spaced = !compact || /"\s*:\s/.test(text);
  // One step = the indentation of the shallowest indented property line; VS Code writes tabs, most tools spaces.
  let unit: string | undefined;
  for (const match of text.matchAll(/\n([ \t]+)"/g)) {
    const ws = match[1]!;
    if (unit === undefined || ws.length < unit.length) unit = ws;
  }
  if (unit?.includes('\t')) unit = '\t';
  return { unit: unit ?? '  ', eol, compact, spaced };
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The leading whitespace of the line `offset` is on. */
function indentOf(text: string, offset: number): string {
  const start = lineStart(text, offset);
  return /^[ \t]*/.exec(text.slice(start, offset))![0];
}

function startsLine(text: string, offset: number): boolean {
  return text.slice(lineStart(text, offset), offset).trim() === '';
}

/** Our values: objects on their own lines, arrays of strings on one line (as the clients' docs show them). */
function render(value: JsonValue, indent: string, style: Style): string {
  if (style.compact || typeof value === 'string' || Array.isArray(value))
    return renderInline(value, style.spaced);
  const inner = indent + style.unit;
  const entries = Object.entries(value as Record<string, JsonValue>);
  if (entries.length === 0) return '{}';
  const body = entries
    .map(([k, v]) => `${inner}${JSON.stringify(k)}: ${render(v, inner, style)}`)
    .join(`,${style.eol}`);
  return `{${style.eol}${body}${style.eol}${indent}}`;
}

function renderInline(value: JsonValue, spaced: boolean): string {
  if (typeof value === 'string') return JSON.stringify(value);
  const comma = spaced ? ', ' : ',';
  if (Array.isArray(value)) return `[${value.map((v) => renderInline(v, spaced)).join(comma)}]`;
  const colon = spaced ? ': ' : ':';
  const pairs = Object.entries(value as Record<string, JsonValue>);
  return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}${colon}${renderInline(v, spaced)}`).join(comma)}}`;
}

function applyEdit(text: string, edit: jsonc.Edit | jsonc.Edit[]): string {
  return jsonc.applyEdits(text, Array.isArray(edit) ? edit : [edit]);
}

/** Replaces a value in place, keeping a multi-line array multi-line. */
function replaceValue(text: string, node: jsonc.Node, value: JsonValue, style: Style): jsonc.Edit {
  const indent = indentOf(text, node.offset);
  const old = text.slice(node.offset, node.offset + node.length);
  if (
    !style.compact &&
    Array.isArray(value) &&
    node.type === 'array' &&
    old.includes('\n') &&
    value.length > 0
  ) {
    const first = node.children?.[0];
    const inner =
      first !== undefined && startsLine(text, first.offset)
        ? indentOf(text, first.offset)
        : indent + style.unit;
    const items = value.map((v) => `${inner}${render(v, inner, style)}`).join(`,${style.eol}`);
    return {
      offset: node.offset,
      length: node.length,
      content: `[${style.eol}${items}${style.eol}${indent}]`,
    };
  }
  return { offset: node.offset, length: node.length, content: render(value, indent, style) };
}

/**
 * Adds `"key": value` as the last property of `object`. In a multi-line object the new property gets its own line,
 * after the last property and any comment that ends its line; a trailing comma is kept in style.
 */
function insertProperty(
  text: string,
  object: jsonc.Node,
  key: string,
  value: JsonValue,
  style: Style,
): jsonc.Edit[] {
  const open = object.offset;
  const close = object.offset + object.length - 1;
  const objectText = text.slice(open, close + 1);
  const children = object.children ?? [];

  if (style.compact) {
    const pair = `${JSON.stringify(key)}:${style.spaced ? ' ' : ''}${render(value, '', style)}`;
    if (children.length === 0) return [{ offset: open, length: close - open + 1, content: `{${pair}}` }];
    const last = children[children.length - 1]!;
    return [{ offset: last.offset + last.length, length: 0, content: `,${style.spaced ? ' ' : ''}${pair}` }];
  }

  const ownIndent = indentOf(text, open);
  if (children.length === 0) {
    const member = ownIndent + style.unit;
    const pair = `${member}${JSON.stringify(key)}: ${render(value, member, style)}`;
    if (objectText.slice(1, -1).trim() === '') {
      return [
        { offset: open, length: close - open + 1, content: `{${style.eol}${pair}${style.eol}${ownIndent}}` },
      ];
    }
    // Only comments inside: add the property on its own line before the closing brace.
    let at = close;
    while (at > open + 1 && (text[at - 1] === ' ' || text[at - 1] === '\t')) at -= 1;
    const lead = text[at - 1] === '\n' ? '' : style.eol;
    return [{ offset: at, length: close - at, content: `${lead}${pair}${style.eol}${ownIndent}` }];
  }

  const last = children[children.length - 1]!;
  const end = last.offset + last.length;
  const member = startsLine(text, last.offset) ? indentOf(text, last.offset) : ownIndent + style.unit;
  const pair = `${member}${JSON.stringify(key)}: ${render(value, member, style)}`;
  // Walk the rest of the last property's line: a comma, then comments, up to the line break or the next token.
  const scanner = jsonc.createScanner(text, false);
  scanner.setPosition(end);
  let comma = false;
  let insertAt = end;
  for (let kind = scanner.scan(); ; kind = scanner.scan()) {
    if (kind === TRIVIA) continue;
    if (kind === COMMA && !comma) {
      comma = true;
      insertAt = scanner.getTokenOffset() + scanner.getTokenLength();
      continue;
    }
    if (
      (kind === LINE_COMMENT || kind === BLOCK_COMMENT) &&
      !text
        .slice(scanner.getTokenOffset(), scanner.getTokenOffset() + scanner.getTokenLength())
        .includes('\n')
    ) {
      insertAt = scanner.getTokenOffset() + scanner.getTokenLength();
      continue;
    }
    if (kind !== LINE_BREAK) {
      // The closing brace (or a multi-line comment) shares the line: the property goes right after the last one.
      if (comma) return [{ offset: insertAt, length: 0, content: `${style.eol}${pair}` }];
      return [{ offset: end, length: 0, content: `,${style.eol}${pair}` }];
    }
    break;
  }
  if (comma) return [{ offset: insertAt, length: 0, content: `${style.eol}${pair},` }];
  if (insertAt === end) return [{ offset: end, length: 0, content: `,${style.eol}${pair}` }];
  return [
    { offset: end, length: 0, content: ',' },
    { offset: insertAt, length: 0, content: `${style.eol}${pair}` },
  ];
}

/** Everything but our entry must be exactly as before, and our entry must say what we meant. */
function verify(before: string | undefined, after: string, serversKey: string, entry: Entry, path: string) {
  const errors: jsonc.ParseError[] = [];
  const next: unknown = jsonc.parse(after, errors, PARSE_OPTIONS);
  if (errors.length > 0 || typeof next !== 'object' || next === null) throw unsafeEdit(path);
  const prev: unknown = before === undefined ? {} : jsonc.parse(before, [], PARSE_OPTIONS);
  const nextEntry = (next as Record<string, Record<string, unknown> | undefined>)[serversKey]?.[SERVER_NAME];
  if (!isSameEntry(nextEntry, entry)) throw unsafeEdit(path);
  if (!isDeepStrictEqual(withoutEntry(prev, serversKey), withoutEntry(next, serversKey)))
    throw unsafeEdit(path);
  const prevEntry = (prev as Record<string, Record<string, unknown> | undefined>)[serversKey]?.[SERVER_NAME];
  if (
    typeof prevEntry === 'object' &&
    prevEntry !== null &&
    !Array.isArray(prevEntry) &&
    !isRemote(prevEntry)
  ) {
    // Fields the user added to our entry survive a patch, and so do the variables they set in its `env`.
    for (const [k, v] of Object.entries(prevEntry)) {
      const now = (nextEntry as Record<string, unknown>)[k];
      const ours = entry[k];
      if (ours === undefined) {
        if (!isDeepStrictEqual(now, v)) throw unsafeEdit(path);
      } else if (isVariables(ours) && isVariables(v)) {
        for (const [n, x] of Object.entries(v))
          if (!(n in ours) && (now as Record<string, unknown>)[n] !== x) throw unsafeEdit(path);
      }
    }
  }
}

function withoutEntry(doc: unknown, serversKey: string): unknown {
  const copy = { ...(doc as Record<string, unknown>) };
  const servers = copy[serversKey];
  if (typeof servers === 'object' && servers !== null && !Array.isArray(servers)) {
    const rest = { ...(servers as Record<string, unknown>) };
    delete rest[SERVER_NAME];
    if (Object.keys(rest).length === 0) delete copy[serversKey];
    else copy[serversKey] = rest;
  }
  return copy;
}
