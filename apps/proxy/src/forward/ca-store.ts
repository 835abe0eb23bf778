import { join } from 'node:path';
import type { AgentSecrets } from '@agentsecrets/core';
import { writeFileAtomic } from '@agentsecrets/fs';
import { caValidFor, createCa, type LocalCa, loadCa } from '@agentsecrets/local-ca';

/**
 * Where the local CA lives in the vault: a namespace of its own, apart from every project's secrets (so it is never
 * listed, injected, synced or handed to `env`).
 */
const CA_NAMESPACE = { workspace: '_agentsecrets', project: 'local-ca' };
const CA_KEY = 'CA_KEY';
const CA_CERT = 'CA_CERT';
/** A CA with less than this left is replaced (its leaves live a week). */
const RENEW_DAYS = 30;

/** `$AGENTSECRETS_HOME/ca.pem`: the CA certificate exported for clients (never read back; the vault is the truth). */
export function caCertificatePath(core: AgentSecrets): string {
  return join(core.paths.home, 'ca.pem');
}

/**
 * The local CA, created on first use: its key and certificate are kept in the vault (the certificate too, so a
 * replaced `ca.pem` cannot make the proxy vouch for another CA), and the certificate is exported to `ca.pem`.
 */
export async function loadOrCreateCa(core: AgentSecrets): Promise<LocalCa> {
  const [key, cert] = await Promise.all([
    core.store.get(CA_NAMESPACE, CA_KEY),
    core.store.get(CA_NAMESPACE, CA_CERT),
  ]);
  let ca: LocalCa | undefined;
  if (key !== undefined && cert !== undefined) {
    ca = await loadCa(cert.text(), key.text()).catch(() => undefined);
    if (ca !== undefined && !caValidFor(ca, RENEW_DAYS)) ca = undefined;
  }
  if (ca === undefined) {
    ca = await createCa();
    await core.store.set(CA_NAMESPACE, CA_KEY, ca.keyPem);
    await core.store.set(CA_NAMESPACE, CA_CERT, ca.certPem);
  }
  // Readable by clients; written as every home file is, so nothing an agent put at a name beforehand is followed.
  await writeFileAtomic(caCertificatePath(core), ca.certPem, { mode: 0o644 });
  return ca;
}
