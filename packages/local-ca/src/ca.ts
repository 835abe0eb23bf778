// Types only: the value is the global Web Crypto object, which loads node:crypto on first use, so a process that
// only builds a trust bundle (`agentsecrets run` through a running proxy) does not pay ~10 ms for it.
import type { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';

type X509Module = typeof X509;
let loading: Promise<X509Module> | undefined;

/**
 * @peculiar/x509 and its ASN.1 stack, loaded on first use: importing them costs a few hundred milliseconds of module
 * loading, which `agentsecrets run` through a running proxy (it only builds the trust bundle) must not pay.
 */
function x509Module(): Promise<X509Module> {
  loading ??= (async () => {
    // @peculiar/x509 2.x resolves its ASN.1 converters through tsyringe, which needs the Reflect metadata API.
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(globalThis.crypto as never);
    return x509;
  })();
  return loading;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const HOUR = 3_600_000;
/** A CA lives 825 days (the longest lifetime Apple's clients accept for a server chain), leaves a week. */
const CA_DAYS = 825;
const LEAF_DAYS = 7;

/** A CA that can sign: its certificate and private key. */
export interface LocalCa {
  /** The CA certificate, PEM, ending in a newline. */
  readonly certPem: string;
  /** The CA private key, PKCS#8 PEM. Kept in the vault; never written to a file. */
  readonly keyPem: string;
  readonly cert: X509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
}

/** A leaf certificate (followed by the CA certificate) and its key, PEM: what `tls.createSecureContext` takes. */
export interface Leaf {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Mints leaf certificates for hosts, one per host, cached. */
export interface LeafMinter {
  mint(host: string): Promise<Leaf>;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

function fromPem(text: string): ArrayBuffer {
  const b64 = text.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

function serial(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f; // positive
  return Buffer.from(b).toString('hex');
}

/**
 * Creates a CA (ECDSA P-256) with the extensions strict verifiers want (OpenSSL 3 `-x509_strict`, Python 3.13, Go,
 * rustls): critical basicConstraints with path length 0, keyCertSign, a subject key identifier.
 */
export async function createCa(name = 'AgentSecrets local CA'): Promise<LocalCa> {
  const x509 = await x509Module();
  const keys = (await globalThis.crypto.subtle.generateKey(EC, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}, O=AgentSecrets`,
    notBefore: new Date(Date.now() - HOUR),
    notAfter: new Date(Date.now() + CA_DAYS * 24 * HOUR),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const keyPem = pem(
    'PRIVATE KEY',
    await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey as never),
  );
  return { cert, keys, certPem: `${cert.toString('pem').trim()}\n`, keyPem };
}

/** Opens a CA from its PEM certificate and PKCS#8 key (as {@link createCa} made them). */
export async function loadCa(certPem: string, keyPem: string): Promise<LocalCa> {
  const x509 = await x509Module();
  const cert = new x509.X509Certificate(certPem);
  const privateKey = await globalThis.crypto.subtle.importKey('pkcs8', fromPem(keyPem), EC, true, ['sign']);
  const publicKey = await cert.publicKey.export(EC, ['verify'], globalThis.crypto as never);
  return {
    cert,
    keys: { privateKey, publicKey } as webcrypto.CryptoKeyPair,
    certPem: `${cert.toString('pem').trim()}\n`,
    keyPem,
  };
}

/** True when the CA certificate is valid for at least `days` more days. */
export function caValidFor(ca: LocalCa, days: number): boolean {
  return ca.cert.notAfter.getTime() - Date.now() > days * 24 * HOUR;
}

/**
 * A minter of leaf certificates signed by `ca`: one key pair for all leaves of this minter (as sandbox-runtime does),
 * one certificate per host, the last `maxEntries` hosts cached. The certificate names exactly the host given (DNS or
 * IP subject alternative name) and carries serverAuth, AKI and SKI.
 */
export async function createLeafMinter(
  ca: LocalCa,
  options: { maxEntries?: number } = {},
): Promise<LeafMinter> {
  const x509 = await x509Module();
  const maxEntries = options.maxEntries ?? 256;
  const leafKeys = (await globalThis.crypto.subtle.generateKey(EC, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const keyPem = pem(
    'PRIVATE KEY',
    await globalThis.crypto.subtle.exportKey('pkcs8', leafKeys.privateKey as never),
  );
  const aki = await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey);
  const ski = await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey);
  const cache = new Map<string, Promise<Leaf>>();
  const build = async (host: string): Promise<Leaf> => {
    const san = isIP(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host };
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${host}`,
      issuer: ca.cert.subject,
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + LEAF_DAYS * 24 * HOUR),
      signingAlgorithm: SIGN,
      publicKey: leafKeys.publicKey,
      signingKey: ca.keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([san]),
        aki,
        ski,
      ],
    });
    return { certPem: `${cert.toString('pem').trim()}\n${ca.certPem}`, keyPem };
  };
  return {
    mint(host: string): Promise<Leaf> {
      const h = host.toLowerCase();
      let leaf = cache.get(h);
      if (leaf !== undefined) {
        cache.delete(h);
      } else {
        leaf = build(h);
        leaf.catch(() => cache.delete(h));
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      }
      cache.set(h, leaf);
      return leaf;
    },
  };
}

/** Where distributions keep the system's root bundle, most common first. */
export const SYSTEM_BUNDLE_PATHS: readonly string[] = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
  '/etc/ssl/ca-bundle.pem',
];

/**
 * The bundle sandboxed clients trust: the system roots (or Node's own list when the system has none), the caller's
 * own extra roots (a corporate CA in `SSL_CERT_FILE` or `NODE_EXTRA_CA_CERTS` must keep working), and the local CA.
 */
export function buildTrustBundle(
  systemPem: string | undefined,
  extras: readonly string[],
  caPem: string,
  fallbackRoots: readonly string[] = [],
): string {
  const parts = [
    systemPem?.trim() || fallbackRoots.join('\n').trim(),
    ...extras.map((e) => e.trim()),
    caPem.trim(),
  ];
  return `${parts.filter((p) => p !== '').join('\n')}\n`;
}
