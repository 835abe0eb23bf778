import { isIP } from 'node:net';

/** What kind of network an address belongs to. Only `public` is reachable without naming it explicitly. */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'metadata'
  | 'unspecified'
  | 'reserved';

function ipv4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** An IPv4 CIDR range as the masked base and the mask, computed once. */
function v4Range(cidr: string): readonly [number, number] {
  const [base, bits] = cidr.split('/') as [string, string];
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return [(ipv4ToInt(base) & mask) >>> 0, mask];
}

// AWS/GCP/Azure IMDS, AWS ECS task metadata, Alibaba Cloud, Azure's WireServer (168.63.129.16: a public-looking
// address that hands out VM configuration and, with the right header, certificates).
const V4_METADATA = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', '168.63.129.16']);

/** The IPv4 ranges that are not public, first match wins. */
const V4_CLASSES: readonly (readonly [AddressClass, readonly (readonly [number, number])[]])[] = (
  [
    ['unspecified', ['0.0.0.0/8']],
    ['loopback', ['127.0.0.0/8']],
    ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']],
    ['link-local', ['169.254.0.0/16']],
    ['cgnat', ['100.64.0.0/10']],
    ['multicast', ['224.0.0.0/4']],
    [
      'reserved',
      [
        '240.0.0.0/4',
        '192.0.0.0/24',
        '192.0.2.0/24',
        '192.88.99.0/24',
        '198.18.0.0/15',
        '198.51.100.0/24',
        '203.0.113.0/24',
      ],
    ],
  ] as const
).map(([kind, cidrs]) => [kind, cidrs.map(v4Range)] as const);

function classifyV4(ip: string): AddressClass {
  if (V4_METADATA.has(ip)) return 'metadata';
  const n = ipv4ToInt(ip);
  for (const [kind, ranges] of V4_CLASSES) {
    for (const [base, mask] of ranges) if ((n & mask) >>> 0 === base) return kind;
  }
  return 'public';
}

/** Expands an IPv6 address to its 8 groups (handles `::` and a dotted IPv4 tail). */
export function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase().split('%')[0]!;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const n = ipv4ToInt(tail[1]!);
    text = `${text.slice(0, -tail[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(fill).fill('0'), ...right].map((g) => Number.parseInt(g, 16));
}

/**
 * The IPv4 address an IPv6 address carries, in every form that delivers to it: IPv4-mapped (`::ffff:a.b.c.d`),
 * IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, except `::` and `::1`), NAT64 (`64:ff9b::/96`)
 * and 6to4 (`2002:aabb:ccdd::/48`).
 */
export function embeddedIpv4(ip: string): string | undefined {
  if (isIP(ip) !== 6) return undefined;
  const g = ipv6Groups(ip);
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const v4 = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  if (zero(0, 5) && g[5] === 0xffff) return v4(g[6]!, g[7]!);
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return v4(g[6]!, g[7]!);
  if (zero(0, 6) && !(g[6] === 0 && g[7]! <= 1)) return v4(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!);
  return undefined;
}

function classifyV6(ip: string): AddressClass {
  const embedded = embeddedIpv4(ip);
  if (embedded !== undefined) return classifyV4(embedded);
  const g = ipv6Groups(ip);
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254)
    return 'metadata';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'reserved';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'private';
  // Teredo (2001::/32) tunnels to an obfuscated IPv4 address; NAT64 local-use (64:ff9b:1::/48) to one of the
  // network's choosing; the discard prefix (100::/64). None is a destination to reach by name.
  if (g[0] === 0x2001 && g[1] === 0) return 'reserved';
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'reserved';
  if (g[0] === 0x100 && g.slice(1, 4).every((x) => x === 0)) return 'reserved';
  return 'public';
}

/**
 * Classifies an IP address. An IPv6 address that carries an IPv4 address (mapped, translated, compatible, NAT64,
 * 6to4; see {@link embeddedIpv4}) is classified as that IPv4 address, so `::ffff:127.0.0.1` is loopback and
 * `2002:a9fe:a9fe::` is metadata. Anything that is not an IP literal is `reserved`.
 */
export function classifyAddress(ip: string): AddressClass {
  const bare = ip.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return classifyV4(bare);
  if (family === 6) return classifyV6(bare);
  return 'reserved';
}

/** A canonical text form for comparing IP literals: IPv4 dotted, IPv6 expanded lowercase (mapped IPv4 as IPv4). */
export function canonicalIp(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare;
  const embedded = embeddedIpv4(bare);
  if (embedded !== undefined && ipv6Groups(bare)[5] === 0xffff) return embedded;
  return ipv6Groups(bare)
    .map((g) => g.toString(16))
    .join(':');
}
