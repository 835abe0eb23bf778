// Files a prompt-injected agent can write (same OS user, a shell, no owner passphrase, no vault) must not widen the
// policy: a forged sync.json, an older validly signed policy.json, a config.json with an owner key of its own. And
// owner edits that run at the same moment must not lose one another. Everything here runs the built CLI and proxy.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createUserKeys, signPolicy } from '@agentsecrets/sync';
import { startUpstream, type Upstream } from '@agentsecrets/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freshMachine, type RunResult, run } from './helpers.js';

const CANARY = 'sk_live_POLICY_TRUST_CANARY_9a8b7c';

let upstream: Upstream;
let machine: Awaited<ReturnType<typeof freshMachine>>;
const opts = () => ({ env: machine.env, cwd: machine.project });
const home = () => machine.env.AGENTSECRETS_HOME!;
const dest = () => `http://127.0.0.1:${upstream.port}`;
const callUpstream = () => run(['call', '--url', `${dest()}/echo`, '--bearer', 'API_KEY'], opts());

async function auditReasons(): Promise<string[]> {
  const text = await readFile(join(home(), 'audit.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { status: string; reason: string | null })
    .filter((e) => e.status === 'BLOCKED')
    .map((e) => e.reason ?? '');
}

/** Runs the CLI in a separate process without waiting: for races. */
function start(args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: machine.env, cwd: machine.project });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

async function allowlist(): Promise<string[]> {
  const res = await run(['allowlist', 'list', '--json'], opts());
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { entry: string }[]).map((e) => e.entry);
}

/** The allowlist as policy.json holds it (the owner's signature is checked by `allowlist list`). */
async function signedAllowlist(): Promise<string[]> {
  const policy = JSON.parse(await readFile(join(home(), 'policy.json'), 'utf8'));
  return Object.values(policy.body.workspaces as Record<string, { allowlist: string[] }>).flatMap(
    (w) => w.allowlist,
  );
}

beforeAll(async () => {
  upstream = await startUpstream();
  machine = await freshMachine();
  expect((await run(['init', '--yes'], opts())).code).toBe(0);
  expect((await run(['secrets', 'set', 'API_KEY', '--stdin'], { ...opts(), input: CANARY })).code).toBe(0);
  const proxy = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
  expect(proxy.code, proxy.stderr).toBe(0);
});

afterAll(async () => {
  await run(['proxy', 'stop'], opts()).catch(() => undefined);
  await upstream.close();
  await rm(machine.root, { recursive: true, force: true });
});

describe('files the agent can write widen nothing', () => {
  it('a forged sync.json (its own admin key pinned, a policy it signed) on a machine that never used sync', async () => {
    const config = JSON.parse(await readFile(join(home(), 'config.json'), 'utf8'));
    const ws = config.currentWorkspace as string;
    const agent = await createUserKeys();
    const forged = signPolicy(
      {
        workspaceId: ws,
        serial: 1,
        allowlist: [dest()],
        bindings: { API_KEY: [{ destination: `127.0.0.1:${upstream.port}/`, methods: [] }] },
      },
      agent.signing,
    );
    await writeFile(
      join(home(), 'sync.json'),
      JSON.stringify({
        server: 'http://127.0.0.1:1',
        email: 'agent@example.com',
        userId: 'usr_agent0000000000000',
        workspaceId: ws,
        versions: {},
        lastSync: null,
        pins: { [ws]: [Buffer.from(agent.signing.publicKey).toString('base64')] },
        policies: { [ws]: forged },
      }),
    );
    await new Promise((r) => setTimeout(r, 600)); // the running proxy looks again after 200 ms
    const seen = upstream.requests.length;
    const refused = await callUpstream();
    expect(refused.code, refused.stdout).toBe(3);
    expect(refused.stderr).toContain('DOMAIN_NOT_ALLOWED');
    expect(upstream.requests.length).toBe(seen);
    expect(await allowlist()).toEqual([]);
    await rm(join(home(), 'sync.json'));
  });

  it('an older, validly signed policy.json is refused and audited (a removal cannot be rolled back)', async () => {
    expect((await run(['allowlist', 'add', dest()], opts())).code).toBe(0);
    const ok = await callUpstream();
    expect(ok.code, ok.stderr).toBe(0);
    await copyFile(join(home(), 'policy.json'), join(machine.root, 'policy.old.json'));
    expect((await run(['allowlist', 'remove', dest()], opts())).code).toBe(0);
    await copyFile(join(machine.root, 'policy.old.json'), join(home(), 'policy.json'));
    await new Promise((r) => setTimeout(r, 600));
    const seen = upstream.requests.length;
    // Through the running proxy, and in a process of its own with no proxy to ask.
    const viaProxy = await callUpstream();
    expect(viaProxy.code, viaProxy.stdout).toBe(3);
    expect(viaProxy.stderr).toContain('POLICY_ROLLBACK');
    expect((await run(['proxy', 'stop'], opts())).code).toBe(0);
    const local = await callUpstream();
    expect(local.code).toBe(3);
    expect(local.stderr).toContain('POLICY_ROLLBACK');
    expect(upstream.requests.length).toBe(seen);
    expect(await auditReasons()).toContain('POLICY_ROLLBACK');
    // The owner's next edit starts again from the newest policy, not from the restored one.
    expect((await run(['allowlist', 'remove', dest()], opts())).code).not.toBe(0);
    await rm(join(home(), 'policy.json'));
    expect((await run(['allowlist', 'add', 'api.example.com'], opts())).code).toBe(0);
    expect(await allowlist()).toEqual(['api.example.com']);
    const proxy = await run(['proxy', 'start', '--detach', '--port', '0'], opts());
    expect(proxy.code, proxy.stderr).toBe(0);
  });

  it('a config.json carrying an owner key of its own, with a policy signed by it', async () => {
    // A running proxy keeps the owner key it started with; the attack is on every process that starts after it.
    expect((await run(['proxy', 'stop'], opts())).code).toBe(0);
    // The agent makes an owner key of its own in a scratch home, then signs a policy for this home's workspace
    // with it there (run where no project is linked, so the copied config's current workspace is used).
    const scratch = join(machine.root, 'scratch');
    const scratchProject = join(machine.root, 'scratch-project');
    const unlinked = join(machine.root, 'unlinked');
    for (const d of [scratch, scratchProject, unlinked]) await mkdir(d, { recursive: true });
    const env = {
      ...machine.env,
      AGENTSECRETS_HOME: scratch,
      AGENTSECRETS_PASSPHRASE: 'the agent chose this',
    };
    expect((await run(['init', '--yes'], { env, cwd: scratchProject })).code).toBe(0);
    const mine = JSON.parse(await readFile(join(scratch, 'config.json'), 'utf8'));
    const victim = JSON.parse(await readFile(join(home(), 'config.json'), 'utf8'));
    await writeFile(join(scratch, 'config.json'), JSON.stringify({ ...victim, owner: mine.owner }));
    const signed = await run(['allowlist', 'add', dest()], { env, cwd: unlinked });
    expect(signed.code, signed.stderr).toBe(0);
    await copyFile(join(home(), 'policy.json'), join(machine.root, 'policy.victim.json'));
    await copyFile(join(scratch, 'config.json'), join(home(), 'config.json'));
    await copyFile(join(scratch, 'policy.json'), join(home(), 'policy.json'));
    await new Promise((r) => setTimeout(r, 600));
    const seen = upstream.requests.length;
    const refused = await callUpstream();
    expect(refused.code, refused.stdout).toBe(3);
    expect(refused.stderr).toContain('POLICY_SIGNATURE_INVALID');
    expect(upstream.requests.length).toBe(seen);
    expect(await auditReasons()).toContain('POLICY_SIGNATURE_INVALID');
    await writeFile(join(home(), 'config.json'), JSON.stringify(victim));
    await copyFile(join(machine.root, 'policy.victim.json'), join(home(), 'policy.json'));
    expect(await allowlist()).toEqual(['api.example.com']);
  });
});

describe('owner edits at the same moment lose nothing', () => {
  it('remove X and add Y together: X is gone and Y is there, every time', async () => {
    // Trial t removes the entry trial t-1 added while it adds its own; the signed file is read directly after each.
    const entry = (t: number) => `race${t}.example.com`;
    expect((await run(['allowlist', 'add', entry(0)], opts())).code).toBe(0);
    for (let trial = 1; trial <= 20; trial += 1) {
      const [removed, added] = await Promise.all([
        start(['allowlist', 'remove', entry(trial - 1)]),
        start(['allowlist', 'add', entry(trial)]),
      ]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(added.code, added.stderr).toBe(0);
      const now = await signedAllowlist();
      expect(now, `trial ${trial}`).not.toContain(entry(trial - 1));
      expect(now, `trial ${trial}`).toContain(entry(trial));
    }
    expect(await allowlist()).toContain(entry(20));
  }, 600_000);

  it('4 processes × 10 adds keep all 40 entries', async () => {
    const before = await allowlist();
    const results = await Promise.all(
      [0, 1, 2, 3].map(async (p) => {
        const out: RunResult[] = [];
        for (let i = 0; i < 10; i += 1)
          out.push(await start(['allowlist', 'add', `p${p}-e${i}.example.com`]));
        return out;
      }),
    );
    for (const r of results.flat()) expect(r.code, r.stderr).toBe(0);
    const after = await allowlist();
    expect(after.length - before.length).toBe(40);
  }, 600_000);
});
