import { randomBytes } from 'node:crypto';
import {
  type AgentSecrets,
  AgentSecretsError,
  constantTimeEqual,
  makePlaceholders,
  type PlaceholderSet,
} from '@agentsecrets/core';
import type { RunGrant, RunRequest } from './wire.js';

/** A registered run, as the forward proxy knows it. */
export interface Run {
  readonly id: string;
  readonly token: string;
  readonly agent: string;
  readonly placeholders: PlaceholderSet;
  readonly denyOtherHosts: boolean;
}

/** The runs the proxy serves: per-run forward-proxy tokens and placeholder sets, revoked when the run ends. */
export class RunRegistry {
  readonly #runs = new Map<string, Run>();

  /**
   * Registers a run: a placeholder for each secret it may use. Only the first characters of each value are read,
   * to keep a well-known public type prefix (`ghp_`, `sk_live_` …); nothing else of the value reaches the placeholder.
   */
  async register(core: AgentSecrets, request: RunRequest, caCertificate: string): Promise<RunGrant> {
    const names = (await core.listSecrets()).map((s) => s.name);
    const wanted = request.only ?? names;
    const missing = wanted.findIndex((n) => !names.includes(n));
    if (missing >= 0) {
      // Not quoted: a value pasted where a name belongs must not be echoed back.
      throw new AgentSecretsError(
        'SECRET_NOT_FOUND',
        `name ${missing + 1} of --only is not a secret of project ${core.project.name}`,
        {
          hint: 'run `agentsecrets secrets list` to see the names',
        },
      );
    }
    const heads: { name: string; publicHead: string }[] = [];
    for (const name of wanted) {
      const value = await core.store.get(core.namespace, name);
      const bytes = value?.bytes() ?? Buffer.alloc(0);
      heads.push({ name, publicHead: bytes.subarray(0, 16).toString('latin1') });
      bytes.fill(0);
    }
    const placeholders = makePlaceholders(heads);
    const run: Run = {
      id: `run_${randomBytes(16).toString('hex')}`,
      token: randomBytes(32).toString('base64url'),
      agent: request.agent,
      placeholders,
      denyOtherHosts: request.denyOtherHosts ?? false,
    };
    this.#runs.set(run.id, run);
    return {
      id: run.id,
      token: run.token,
      placeholders: Object.fromEntries(placeholders.byName),
      caCertificate,
    };
  }

  /** The run a forward-proxy token belongs to (compared in constant time), or undefined. */
  byToken(token: string | undefined): Run | undefined {
    if (token === undefined) return undefined;
    for (const run of this.#runs.values()) if (constantTimeEqual(token, run.token)) return run;
    return undefined;
  }

  /** Ends a run: its token and placeholders stop working at once. True when it existed. */
  revoke(id: string): boolean {
    return this.#runs.delete(id);
  }

  get size(): number {
    return this.#runs.size;
  }
}
