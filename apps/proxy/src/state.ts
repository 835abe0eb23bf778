import { unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import {
  type HomePaths,
  isProcessAlive,
  type JsonSchema,
  readJsonFile,
  writeJsonFile,
} from '@agentsecrets/fs';

/** The running proxy's address, pid and session token: `$AGENTSECRETS_HOME/proxy.json` (0600). */
export interface ProxyState {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** Null for a proxy started with `--no-auth`. */
  readonly token: string | null;
  readonly startedAt: string;
}

const FIELDS: Readonly<Record<keyof ProxyState, (v: unknown) => boolean>> = {
  pid: (v) => Number.isSafeInteger(v) && (v as number) > 0,
  host: (v) => typeof v === 'string',
  port: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535,
  token: (v) => v === null || typeof v === 'string',
  startedAt: (v) => typeof v === 'string',
};

/** The first field of `data` that is not a proxy state's (missing, of the wrong type, or unknown), or undefined. */
function badField(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return '';
  for (const [name, ok] of Object.entries(FIELDS))
    if (!ok((data as Record<string, unknown>)[name])) return name;
  return Object.keys(data).find((name) => !Object.hasOwn(FIELDS, name));
}

/**
 * How proxy.json is checked: by hand, not with zod, because every CLI run and MCP server start reads it and zod
 * alone takes longer to load than the rest of such a run. Strict: an unknown field is refused, as zod's `.strict()`.
 */
export const PROXY_STATE: JsonSchema<ProxyState> = {
  safeParse(data) {
    const bad = badField(data);
    return bad === undefined
      ? { success: true, data: data as ProxyState }
      : { success: false, error: { issues: [{ path: bad === '' ? [] : [bad] }] } };
  },
  parse(data) {
    const parsed = this.safeParse(data);
    if (!parsed.success) throw new TypeError(`not a proxy state: ${parsed.error.issues[0]?.path.join('.')}`);
    return parsed.data;
  },
};

/** The recorded proxy, or undefined when none is recorded or its process is gone. */
export async function readProxyState(paths: HomePaths): Promise<ProxyState | undefined> {
  const state = await readJsonFile(paths.proxy, PROXY_STATE);
  return state !== undefined && isProcessAlive(state.pid) ? state : undefined;
}

/**
 * Whether anything accepts connections where a recorded proxy listens: a proxy whose process runs always does, so a
 * refusal means the record is stale even when its pid is alive (reused by another program after a crash or reboot).
 * A connection that neither opens nor fails within 5 s counts as listening (a loaded machine is not proof of death).
 */
export function proxyListening(state: Pick<ProxyState, 'host' | 'port'>): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: state.host, port: state.port });
    socket.setTimeout(5_000);
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** What proxy.json records, whether or not its process still runs (`proxy status` tells a stale record apart). */
export function readRecordedProxyState(paths: HomePaths): Promise<ProxyState | undefined> {
  return readJsonFile(paths.proxy, PROXY_STATE);
}

/** Records the running proxy (mode 0600: the file holds the session token). */
export async function writeProxyState(paths: HomePaths, state: ProxyState): Promise<void> {
  await writeJsonFile(paths.proxy, PROXY_STATE, state);
}

/** Removes proxy.json if it still describes process `pid`. */
export async function clearProxyState(paths: HomePaths, pid: number): Promise<void> {
  const state = await readJsonFile(paths.proxy, PROXY_STATE).catch(() => undefined);
  if (state !== undefined && state.pid !== pid) return;
  await unlink(paths.proxy).catch(() => undefined);
}

/** The base URL of a recorded proxy (IPv6 hosts bracketed). */
export function proxyUrl(state: Pick<ProxyState, 'host' | 'port'>): string {
  return `http://${bracketHost(state.host)}:${state.port}`;
}

/** A host as it stands in a URL: IPv6 literals in brackets. */
export function bracketHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
