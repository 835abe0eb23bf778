import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTrustBundle, createCa, createLeafMinter, loadCa } from './ca.js';

describe('local CA', () => {
  it('mints leaves that openssl verifies strictly against the CA, after a reload from PEM', async () => {
    const made = await createCa('test CA');
    const ca = await loadCa(made.certPem, made.keyPem);
    const minter = await createLeafMinter(ca);
    const leaf = await minter.mint('API.Example.com');
    expect(await minter.mint('api.example.com')).toBe(leaf);
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    writeFileSync(join(dir, 'ca.pem'), made.certPem);
    writeFileSync(join(dir, 'leaf.pem'), leaf.certPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    const out = execFileSync('openssl', [
      'verify',
      '-x509_strict',
      '-purpose',
      'sslserver',
      '-verify_hostname',
      'api.example.com',
      '-CAfile',
      join(dir, 'ca.pem'),
      join(dir, 'leaf.pem'),
    ]).toString();
    expect(out).toContain(': OK');
    const ip = await minter.mint('127.0.0.1');
    writeFileSync(join(dir, 'ip.pem'), ip.certPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    expect(
      execFileSync('openssl', [
        'verify',
        '-verify_ip',
        '127.0.0.1',
        '-CAfile',
        join(dir, 'ca.pem'),
        join(dir, 'ip.pem'),
      ]).toString(),
    ).toContain(': OK');
  });

  it('builds a bundle of system roots, extras and the CA', () => {
    const b = buildTrustBundle('SYS\n', ['EXTRA'], 'CA\n');
    expect(b).toBe('SYS\nEXTRA\nCA\n');
    expect(buildTrustBundle(undefined, [], 'CA', ['R1', 'R2'])).toBe('R1\nR2\nCA\n');
  });
});
