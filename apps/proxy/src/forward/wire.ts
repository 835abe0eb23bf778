// The wire format of `agentsecrets run` in one place (beside the proxy protocol module, protocol.ts):
// the run registration a CLI makes with the proxy, and the forward-proxy credential a sandboxed agent presents.
import { SECRET_NAME_PATTERN } from '@agentsecrets/core';
import { z } from 'zod';
import { AGENT_ID } from '../protocol.js';

/** `POST /runs` (session token): register a run. `DELETE /runs/<id>` (session token) ends it. */
export const RUNS_ROUTE = '/runs';

/** What the CLI asks for. */
export const RunRequestSchema = z
  .object({
    /** Who runs: the basename of the command, recorded as the audit event's agent_id. */
    agent: z.string().regex(AGENT_ID),
    /** Only these secrets get placeholders (`--only`); absent: every secret of the project. */
    only: z.array(z.string().regex(SECRET_NAME_PATTERN)).max(1024).optional(),
    /** Refuse CONNECT and plain requests to hosts that are not allowlisted (`--deny-other-hosts`). */
    denyOtherHosts: z.boolean().optional(),
  })
  .strict();
/** A run registration request. */
export type RunRequest = z.infer<typeof RunRequestSchema>;

/** What the proxy answers: the run's forward-proxy credential, its placeholders and the CA clients must trust. */
export const RunGrantSchema = z
  .object({
    id: z.string().regex(/^run_[0-9a-f]{32}$/),
    /** Presented as `Proxy-Authorization: Basic base64(agentsecrets:TOKEN)` (or Bearer TOKEN); dies with the run. */
    token: z.string().min(32).max(256),
    /** Secret name → placeholder. */
    placeholders: z.record(z.string(), z.string()),
    /** The local CA certificate (PEM) that signs the proxy's leaf certificates. */
    caCertificate: z.string().startsWith('-----BEGIN CERTIFICATE-----'),
  })
  .strict();
/** A registered run. */
export type RunGrant = z.infer<typeof RunGrantSchema>;

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
