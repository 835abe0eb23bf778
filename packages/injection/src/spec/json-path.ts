import { AgentSecretsError } from '@agentsecrets/errors';

/** One step of a body path: an object member name or an array index. */
export type PathSegment = string | number;

function pathError(path: string, why: string): AgentSecretsError {
  return new AgentSecretsError('BODY_PATH_INVALID', `body path "${path}" ${why}`, {
    hint: 'write the path as a.b[0].c, naming object members and array indexes that exist in the JSON body',
  });
}

/**
 * Parses `a.b[0].c` into `['a', 'b', 0, 'c']`. Member names are taken exactly as given; `["x.y"]` quotes a name that
 * holds a dot or a bracket.
 */
export function parseBodyPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  const n = path.length;
  if (n === 0) throw pathError(path, 'is empty');
  while (i < n) {
    if (path[i] === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw pathError(path, 'has an unclosed [');
      const inner = path.slice(i + 1, close);
      if (/^\d{1,9}$/.test(inner)) {
        segments.push(Number(inner));
      } else if (/^"(?:[^"\\]|\\.)*"$/.test(inner)) {
        segments.push(JSON.parse(inner) as string);
      } else {
        throw pathError(path, 'has a bracket that is neither an index nor a quoted name');
      }
      i = close + 1;
      if (i < n && path[i] === '.') {
        i += 1;
        if (i === n) throw pathError(path, 'ends with a dot');
      }
      continue;
    }
    let end = i;
    while (end < n && path[end] !== '.' && path[end] !== '[') end += 1;
    if (end === i) throw pathError(path, 'has an empty member name');
    segments.push(path.slice(i, end));
    i = end;
    if (i < n && path[i] === '.') {
      i += 1;
      if (i === n) throw pathError(path, 'ends with a dot');
    }
  }
  return segments;
}

// A minimal scanner over JSON text that is already known to be valid (JSON.parse checked it): it finds where values
// start and end so a value can be replaced or a member added without re-serialising anything else. Numbers, key order,
// whitespace and escapes of the rest of the body stay byte-for-byte as sent.

function skipWs(text: string, i: number): number {
  let j = i;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    j += 1;
  }
  return j;
}

function endOfString(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) j += 2;
    else if (c === 0x22) return j + 1;
    else j += 1;
  }
  return j;
}

function endOfValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    while (j < text.length) {
      const d = text[j];
      if (d === '"') {
        j = endOfString(text, j);
        continue;
      }
      if (d === '{' || d === '[') depth += 1;
      else if (d === '}' || d === ']') {
        depth -= 1;
        if (depth === 0) return j + 1;
      }
      j += 1;
    }
    return j;
  }
  let j = i;
  while (j < text.length && !/[\s,\]}]/.test(text[j]!)) j += 1;
  return j;
}

/** The JSON text for the part of a path that does not exist yet, wrapping the value. */
function build(rest: readonly PathSegment[], valueJson: string, path: string): string {
  let out = valueJson;
  for (let k = rest.length - 1; k >= 0; k -= 1) {
    const seg = rest[k]!;
    if (typeof seg === 'number') {
      if (seg !== 0) throw pathError(path, `would need array index ${seg} in an array that does not exist`);
      out = `[${out}]`;
    } else {
      out = `{${JSON.stringify(seg)}:${out}}`;
    }
  }
  return out;
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

function setAt(
  text: string,
  start: number,
  segs: readonly PathSegment[],
  valueJson: string,
  path: string,
): string {
  if (segs.length === 0) return splice(text, start, endOfValue(text, start), valueJson);
  const seg = segs[0]!;
  const open = text[start];
  if (typeof seg === 'string') {
    if (open !== '{') throw pathError(path, `expects an object at "${seg}"`);
    let i = skipWs(text, start + 1);
    let found = -1;
    let lastEnd = -1;
    while (text[i] !== '}') {
      const keyEnd = endOfString(text, i);
      const key = JSON.parse(text.slice(i, keyEnd)) as string;
      const valueStart = skipWs(text, skipWs(text, keyEnd) + 1);
      const valueEnd = endOfValue(text, valueStart);
      // Like JSON.parse, the last of duplicate members is the one that counts.
      if (key === seg) found = valueStart;
      lastEnd = valueEnd;
      i = skipWs(text, valueEnd);
      if (text[i] === ',') i = skipWs(text, i + 1);
    }
    if (found >= 0) return setAt(text, found, segs.slice(1), valueJson, path);
    const member = `${JSON.stringify(seg)}:${build(segs.slice(1), valueJson, path)}`;
    return lastEnd < 0 ? splice(text, i, i, member) : splice(text, lastEnd, lastEnd, `,${member}`);
  }
  if (open !== '[') throw pathError(path, `expects an array at [${seg}]`);
  let i = skipWs(text, start + 1);
  let index = 0;
  let lastEnd = -1;
  while (text[i] !== ']') {
    if (index === seg) return setAt(text, i, segs.slice(1), valueJson, path);
    lastEnd = endOfValue(text, i);
    i = skipWs(text, lastEnd);
    if (text[i] === ',') i = skipWs(text, i + 1);
    index += 1;
  }
  if (seg !== index) throw pathError(path, `has index ${seg} but the array has ${index} elements`);
  const element = build(segs.slice(1), valueJson, path);
  return lastEnd < 0 ? splice(text, i, i, element) : splice(text, lastEnd, lastEnd, `,${element}`);
}

/**
 * Sets `path` in a JSON document to `value` (a string), creating missing object members, and returns the new text.
 * Everything else in the body is kept exactly as sent: numbers (even ones beyond double precision), key order,
 * whitespace. An empty body is taken as `{}`.
 *
 * @example
 * ```ts
 * setJsonPath('{"id":12345678901234567890,"auth":{}}', 'auth.token', 'v');
 * // '{"id":12345678901234567890,"auth":{"token":"v"}}'
 * ```
 */
export function setJsonPath(body: string, path: string, value: string): string {
  const segs = parseBodyPath(path);
  const text = body.trim() === '' ? '{}' : body;
  try {
    JSON.parse(text);
  } catch {
    throw new AgentSecretsError(
      'BODY_PATH_INVALID',
      `cannot inject at body path "${path}": the body is not JSON`,
      {
        hint: 'send a JSON body (or none) with body: injections, or use form: for urlencoded bodies',
      },
    );
  }
  return setAt(text, skipWs(text, 0), segs, JSON.stringify(value), path);
}
