// The wire format of `agentsecrets run` in one place (beside the proxy protocol module, protocol.ts):
// the run registration a CLI makes with the proxy, and the forward-proxy credential a sandboxed agent presents.
import { SECRET_NAME_PATTERN } from '@agentsecrets/names';
import { AGENT_ID } from '../protocol.js';
import { type FieldCheck, matching, objectShape } from '../shape.js';

/** `POST /runs` (session token): register a run. `DELETE /runs/<id>` (session token) ends it. */
export const RUNS_ROUTE = '/runs';

/** What the CLI asks for. */
export interface RunRequest {
  /** Who runs: the basename of the command, recorded as the audit event's agent_id. */
  readonly agent: string;
  /** Only these secrets get placeholders (`--only`); absent: every secret of the project. */
  readonly only?: readonly string[];
  /** Refuse CONNECT and plain requests to hosts that are not allowlisted (`--deny-other-hosts`). */
  readonly denyOtherHosts?: boolean;
}

/** What the proxy answers: the run's forward-proxy credential, its placeholders and the CA clients must trust. */
export interface RunGrant {
  readonly id: string;
  /** Presented as `Proxy-Authorization: Basic base64(agentsecrets:TOKEN)` (or Bearer TOKEN); dies with the run. */
  readonly token: string;
  /** Secret name → placeholder. */
  readonly placeholders: Readonly<Record<string, string>>;
  /** The local CA certificate (PEM) that signs the proxy's leaf certificates. */
  readonly caCertificate: string;
}

const stringsOf =
  (each: FieldCheck, max: number): FieldCheck =>
  (v) =>
    Array.isArray(v) && v.length <= max && v.every(each);

// Checked by hand (shape.ts): the CLI's `run` reads a grant at every start, and zod would be most of its start-up.
/** A run registration request as the proxy reads it. */
export const RunRequestSchema = objectShape<RunRequest>(
  {
    agent: matching(AGENT_ID),
    only: stringsOf(matching(SECRET_NAME_PATTERN), 1024),
    denyOtherHosts: (v) => typeof v === 'boolean',
  },
  ['only', 'denyOtherHosts'],
);

/** A run grant as the CLI reads it. */
export const RunGrantSchema = objectShape<RunGrant>({
  id: matching(/^run_[0-9a-f]{32}$/),
  token: (v) => typeof v === 'string' && v.length >= 32 && v.length <= 256,
  placeholders: (v) =>
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((p) => typeof p === 'string'),
  caCertificate: (v) => typeof v === 'string' && v.startsWith('-----BEGIN CERTIFICATE-----'),
});

/** The user name put before the run token in proxy URLs (any name is accepted). */
export const PROXY_USER = 'agentsecrets';

/**
 * The token of a `Proxy-Authorization` header: `Basic base64(user:TOKEN)` (what curl, git, Python and undici send
 * for `http://user:TOKEN@host:port` in HTTP(S)_PROXY) or `Bearer TOKEN`. Undefined for anything else.
 */
export function parseProxyAuthorization(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const basic = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic !== null) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  return /^bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

/** The proxy URL a sandboxed client is given: `http://agentsecrets:TOKEN@HOST:PORT`. */
export function formatProxyUrl(host: string, port: number, token: string): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `http://${PROXY_USER}:${encodeURIComponent(token)}@${h}:${port}`;
}
