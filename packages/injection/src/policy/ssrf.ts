import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { AgentSecretsError } from '@agentsecrets/errors';
import { type AddressClass, canonicalIp, classifyAddress } from './address.js';
import type { AllowlistEntry, Destination } from './policy.js';

/** A `dns.lookup`-compatible function (what `net.connect({ lookup })` and undici's connector call). */
export type LookupFunction = (
  hostname: string,
  options:
    | { family?: number | string | undefined; all?: boolean | undefined; hints?: number | undefined }
    | number
    | undefined,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

const PHRASE: Record<AddressClass, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private-network address',
  'link-local': 'a link-local address',
  cgnat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  metadata: 'a cloud metadata address',
  unspecified: 'an unspecified address (0.0.0.0 / ::)',
  reserved: 'a reserved address',
};

/**
 * The SSRF rule. A public address is always fine. A non-public one only when the matched entry names it explicitly:
 * an IP entry allows exactly its own address; an exact name entry (e.g. `localhost:8080`, `db.internal`) allows what
 * that name resolves to, except cloud metadata addresses, which need an IP entry naming them; a wildcard entry never
 * allows a non-public address.
 */
export function checkAddress(host: string, entry: AllowlistEntry, address: string): void {
  const cls = classifyAddress(address);
  if (cls === 'public') return;
  if (entry.kind === 'ipv4' || entry.kind === 'ipv6') {
    if (canonicalIp(address) === entry.host) return;
  } else if (entry.kind === 'name' && cls !== 'metadata') {
    return;
  }
  const explicit =
    cls === 'metadata' || entry.kind === 'wildcard'
      ? `allowlist the address itself (agentsecrets allowlist add ${isIP(address) === 6 ? `[${address}]` : address}) if this is intended`
      : 'allowlist that address or host explicitly if this is intended';
  throw new AgentSecretsError('SSRF_BLOCKED', `${host} resolved to ${PHRASE[cls]}, which is refused`, {
    hint: explicit,
  });
}

function resolveAll(lookup: LookupFunction, host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    lookup(host, { all: true }, (err, addresses) => {
      if (err) reject(err);
      else resolve(Array.isArray(addresses) ? addresses : [{ address: addresses, family: isIP(addresses) }]);
    });
  });
}

/**
 * Pre-flight: resolves the destination and checks every address before any secret is read. IP-literal hosts are
 * checked directly. The connection itself goes through {@link createGuardedLookup}, which checks again, so a name
 * that changes its answer in between (DNS rebinding) is still refused.
 */
export async function resolveAndCheck(
  dest: Destination,
  entry: AllowlistEntry,
  options: { lookup?: LookupFunction } = {},
): Promise<string[]> {
  return checkLiteral(dest, entry) ?? (await resolveName(dest, entry, options));
}

/**
 * {@link resolveAndCheck} for an IP-literal host, which needs no lookup: checked here and now. Undefined for a name,
 * which must be resolved first.
 */
export function checkLiteral(dest: Destination, entry: AllowlistEntry): string[] | undefined {
  if (dest.hostKind === 'name') return undefined;
  checkAddress(dest.host, entry, dest.host);
  return [dest.host];
}

async function resolveName(
  dest: Destination,
  entry: AllowlistEntry,
  options: { lookup?: LookupFunction },
): Promise<string[]> {
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(options.lookup ?? (dnsLookup as unknown as LookupFunction), dest.host);
  } catch (e) {
    throw new AgentSecretsError('UPSTREAM_DNS', `could not resolve the name ${dest.host}`, {
      hint: 'check the host name in the URL',
      cause: e,
    });
  }
  for (const a of addresses) checkAddress(dest.host, entry, a.address);
  return addresses.map((a) => a.address);
}

/**
 * A DNS lookup for the outbound connector that hands the socket only addresses that pass {@link checkAddress}: the
 * connection goes to exactly the addresses that were checked. Any blocked answer fails the lookup with
 * SSRF_BLOCKED; a host with no allowlist entry fails with DOMAIN_NOT_ALLOWED.
 */
export function createGuardedLookup(
  resolveEntry: (hostname: string) => AllowlistEntry | undefined,
  options: { lookup?: LookupFunction } = {},
): LookupFunction {
  const base = options.lookup ?? (dnsLookup as unknown as LookupFunction);
  return (hostname, lookupOptions, callback) => {
    const opts: {
      family?: number | string | undefined;
      all?: boolean | undefined;
      hints?: number | undefined;
    } =
      typeof lookupOptions === 'object' && lookupOptions !== null ? lookupOptions : { family: lookupOptions };
    const entry = resolveEntry(hostname);
    if (entry === undefined) {
      callback(
        new AgentSecretsError('DOMAIN_NOT_ALLOWED', `${hostname} is not on the allowlist`, {
          hint: 'the owner can add it with `agentsecrets allowlist add`',
        }),
        '',
      );
      return;
    }
    base(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '');
        return;
      }
      const list = Array.isArray(addresses) ? addresses : [{ address: addresses, family: isIP(addresses) }];
      try {
        for (const a of list) checkAddress(hostname, entry, a.address);
      } catch (e) {
        callback(e as NodeJS.ErrnoException, '');
        return;
      }
      if (opts.all) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
