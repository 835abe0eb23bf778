import { AgentSecretsError } from '@agentsecrets/errors';
import { z } from 'zod';
import { decryptSecret, encryptSecret, type SecretCoordinates } from '../envelopes.js';
import type { PulledSecret, PushOutcome, SyncLocation, SyncSession } from '../types.js';
import { PushConflictSchema, StoredSecretSchema } from '../wire.js';
import { errorCode, type Transport, workspacePath } from './transport.js';

/** Where a value is bound: the envelope does not open anywhere else. */
export function coordinates(at: SyncLocation, name: string, version: number): SecretCoordinates {
  return {
    workspaceId: at.workspace.id,
    projectId: at.projectId,
    environment: at.environment,
    name,
    version,
    keyVersion: at.workspace.keyVersion,
  };
}

const secretsPath = (at: SyncLocation) =>
  `${workspacePath(at.workspace.id)}/secrets/${encodeURIComponent(at.projectId)}/${encodeURIComponent(at.environment)}`;

export async function push(
  http: Transport,
  session: SyncSession,
  at: SyncLocation,
  items: readonly { name: string; value: Uint8Array; baseVersion: number }[],
): Promise<PushOutcome> {
  if (at.workspace.rotationPending) {
    throw new AgentSecretsError(
      'REQUEST_REFUSED',
      `the key of workspace ${at.workspace.name} is due for rotation (a member was removed)`,
      { hint: 'nothing was pushed; an admin of the workspace syncs first (any team command rotates it)' },
    );
  }
  if (items.length === 0) return { pushed: [] };
  const secrets = items.map((i) => ({
    name: i.name,
    version: i.baseVersion + 1,
    ciphertext: encryptSecret(at.workspace.key, i.value, coordinates(at, i.name, i.baseVersion + 1)),
  }));
  const res = await http.authed(session, 'POST', secretsPath(at), {
    keyVersion: at.workspace.keyVersion,
    secrets,
  });
  if (errorCode(res) === 'VERSION_CONFLICT') return http.expect(res, 409, PushConflictSchema, 'the push');
  http.ok(res, 201, 'the push');
  return { pushed: secrets.map((s) => ({ name: s.name, version: s.version })) };
}

export async function pull(
  http: Transport,
  session: SyncSession,
  at: SyncLocation,
  minVersions: Readonly<Record<string, number>>,
): Promise<PulledSecret[]> {
  const res = await http.authed(session, 'GET', secretsPath(at));
  const list = http.expect(res, 200, z.array(StoredSecretSchema).max(100_000), 'the secret list');
  return list.map((s) => {
    if (s.version < (minVersions[s.name] ?? 0)) {
      throw new AgentSecretsError(
        'DECRYPT_FAILED',
        `the server offered ${s.name} at version ${s.version}, older than ${minVersions[s.name]}`,
        {
          hint: 'the server rolled a secret back; refusing it',
        },
      );
    }
    return {
      name: s.name,
      version: s.version,
      value: decryptSecret(at.workspace.key, s.ciphertext, {
        ...coordinates(at, s.name, s.version),
        keyVersion: s.keyVersion,
      }),
    };
  });
}
