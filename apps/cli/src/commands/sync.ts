import type { Command } from 'commander';
import type { Context } from '../context.js';
import { json, line, promptHidden, table, usage } from '../io.js';

/** The sync account password: AGENTSECRETS_SYNC_PASSWORD for automation, else a hidden prompt. */
export async function password(ctx: Context, confirm: boolean): Promise<string> {
  const fromEnv = ctx.io.env.AGENTSECRETS_SYNC_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const first = await promptHidden(ctx.io, confirm ? 'Choose the account password: ' : 'Account password: ');
  if (confirm) {
    if (first.length < 10)
      throw usage('the account password must be at least 10 characters', 'choose a longer one');
    if ((await promptHidden(ctx.io, 'Repeat it: ')) !== first)
      throw usage('the two passwords differ', 'run it again');
  }
  return first;
}

/** `signup`, `login`, `logout`, `workspace create|list|switch`, `secrets push|pull|diff`: team sync. */
export function registerSync(program: Command, ctx: Context): void {
  program
    .command('signup <email>')
    .description(
      'owner only: create an account on the sync server (AGENTSECRETS_SERVER); the password never leaves this machine',
    )
    .action(async (email: string) => {
      const core = await ctx.core();
      const owner = await ctx.owner();
      await core.team.signup(email, await password(ctx, true), owner);
      line(ctx.io.stdout, `signed up and logged in as ${email}; next: agentsecrets workspace create NAME`);
    });
  program
    .command('login <email>')
    .description(
      'owner only: log in to the sync server; the session is kept in the local vault, and team policy applies only to a sync the owner set up',
    )
    .action(async (email: string) => {
      const core = await ctx.core();
      const owner = await ctx.owner();
      await core.team.login(email, await password(ctx, false), owner);
      line(ctx.io.stdout, `logged in as ${email}`);
    });
  program
    .command('logout')
    .description(
      'owner only: revoke this session on the server and forget it here; team policy stops applying (local secrets stay)',
    )
    .action(async () => {
      const core = await ctx.core();
      await core.team.logout(await ctx.owner());
      line(ctx.io.stdout, 'logged out');
    });

  const workspace = program.commands.find((c) => c.name() === 'workspace');
  if (workspace === undefined) throw new Error('the workspace command is registered first');
  workspace
    .command('create <name>')
    .description(
      'owner only: create a team workspace (its key is made here and granted to you under a roster you sign)',
    )
    .action(async (name: string) => {
      const core = await ctx.core();
      const ws = await core.team.createWorkspace(name, await ctx.owner());
      line(ctx.io.stdout, `created workspace ${ws.name} and switched to it`);
    });
  workspace
    .command('list')
    .description('team workspaces you belong to (accepts pending invites, showing your fingerprint)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const core = await ctx.core();
      for (const invite of await core.team.acceptInvites()) {
        line(
          ctx.io.stderr,
          `invited to ${invite.workspaceName}: tell the admin your fingerprint, ${invite.fingerprint}`,
        );
      }
      const state = await core.team.state();
      const list = (await core.team.workspaces()).map((w) => ({
        id: w.id,
        name: w.name,
        role: w.role,
        current: w.id === state?.workspaceId,
        rotationPending: w.rotationPending,
        verified: w.verified,
      }));
      if (opts.json) return json(ctx.io.stdout, list);
      line(
        ctx.io.stdout,
        table([['', 'NAME', 'ROLE'], ...list.map((w) => [w.current ? '*' : ' ', w.name, w.role])]),
      );
    });
  workspace
    .command('switch <name>')
    .description(
      'owner only: sync the current project with a team workspace; its admin keys are pinned on first use',
    )
    .option(
      '--admin-fingerprint <fingerprint>',
      'pin only if an admin has this fingerprint (ask them for it, out of band)',
    )
    .action(async (name: string, opts: { adminFingerprint?: string }) => {
      const core = await ctx.core();
      const ws = await core.team.switchWorkspace(
        name,
        await ctx.owner(),
        opts.adminFingerprint === undefined ? {} : { adminFingerprint: opts.adminFingerprint },
      );
      line(ctx.io.stdout, `now syncing with workspace ${ws.name}`);
      if (ws.pinnedNow) {
        for (const a of ws.admins) {
          line(
            ctx.io.stderr,
            `pinned admin ${a.email}, fingerprint ${a.fingerprint}: compare it with theirs`,
          );
        }
      }
    });
  workspace
    .command('upgrade <name>')
    .description(
      'admin: bring a workspace made before signed rosters under one (rotates its key; admit members again)',
    )
    .action(async (name: string) => {
      const core = await ctx.core();
      const ws = await core.team.upgradeWorkspace(name, await ctx.owner(), await password(ctx, false));
      line(
        ctx.io.stdout,
        `workspace ${ws.name} has a signed roster and a new key, granted to you alone; admit the others again with \`agentsecrets workspace invite EMAIL --fingerprint …\``,
      );
    });

  workspace
    .command('invite <email>')
    .description(
      'invite a teammate; once they accepted, admit them with the fingerprint they read out to you',
    )
    .option(
      '--fingerprint <fingerprint>',
      'the fingerprint the invitee told you out of band: admits them (asks for the account password again)',
    )
    .action(async (email: string, opts: { fingerprint?: string }) => {
      const core = await ctx.core();
      const result = await core.team.invite(
        email,
        opts.fingerprint === undefined
          ? undefined
          : { fingerprint: opts.fingerprint, password: await password(ctx, false) },
      );
      if (result.admitted) return line(ctx.io.stdout, `${email} is a member now`);
      line(
        ctx.io.stdout,
        result.fingerprint === null
          ? `invited ${email}; once they log in and run \`agentsecrets workspace list\`, ask them for their fingerprint`
          : `${email} accepted; the server shows fingerprint ${result.fingerprint}. If it matches what they tell you: agentsecrets workspace invite ${email} --fingerprint '${result.fingerprint}'`,
      );
    });
  workspace
    .command('members')
    .description('members of the current workspace, with roles and fingerprints')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const members = await (await ctx.core()).team.members();
      if (opts.json) return json(ctx.io.stdout, members);
      line(
        ctx.io.stdout,
        table([['EMAIL', 'ROLE', 'FINGERPRINT'], ...members.map((m) => [m.email, m.role, m.fingerprint])]),
      );
    });
  for (const [name, role] of [
    ['promote', 'admin'],
    ['demote', 'member'],
  ] as const) {
    workspace
      .command(`${name} <email>`)
      .description(
        `make a member ${role === 'admin' ? 'an admin' : 'a plain member'} (asks for the account password again)`,
      )
      .action(async (email: string) => {
        const core = await ctx.core();
        await core.team.setRole(email, role, await password(ctx, false));
        line(ctx.io.stdout, `${email} is ${role === 'admin' ? 'an admin' : 'a member'} now`);
      });
  }
  workspace
    .command('remove <email>')
    .description(
      'remove a member; the workspace key is rotated to the remaining members at once (asks for the account password again)',
    )
    .action(async (email: string) => {
      const core = await ctx.core();
      const { rotated } = await core.team.remove(email, await password(ctx, false));
      line(
        ctx.io.stdout,
        rotated
          ? `removed ${email}; the workspace key was rotated`
          : `removed ${email}; the workspace key rotation is pending (the next sync by an admin does it)`,
      );
    });

  const secrets = program.commands.find((c) => c.name() === 'secrets');
  if (secrets === undefined) throw new Error('the secrets command is registered first');
  secrets
    .command('push')
    .description(
      'encrypt and push new or changed secrets of this project to the team workspace (all or nothing)',
    )
    .action(async () => {
      const { pushed, conflicts } = await (await ctx.core()).team.push();
      line(ctx.io.stdout, pushed.length ? `pushed ${pushed.join(', ')}` : 'nothing to push');
      if (conflicts.length > 0) {
        line(
          ctx.io.stderr,
          `conflict: ${conflicts.join(', ')} changed on the server since your last pull; nothing was pushed — run \`agentsecrets secrets diff\`, then pull`,
        );
        process.exitCode = 1;
      }
    });
  secrets
    .command('pull')
    .description('pull and decrypt the team workspace secrets of this project into the local vault')
    .action(async () => {
      const { pulled } = await (await ctx.core()).team.pull();
      line(ctx.io.stdout, pulled.length ? `pulled ${pulled.join(', ')}` : 'already up to date');
    });
  secrets
    .command('diff')
    .description('local-only, remote-only and changed secrets, by name')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const d = await (await ctx.core()).team.diff();
      if (opts.json) return json(ctx.io.stdout, d);
      for (const [label, names] of [
        ['local only', d.localOnly],
        ['remote only', d.remoteOnly],
        ['changed', d.changed],
      ] as const) {
        if (names.length) line(ctx.io.stdout, `${label}: ${names.join(', ')}`);
      }
      if (!d.localOnly.length && !d.remoteOnly.length && !d.changed.length) line(ctx.io.stdout, 'in sync');
    });
}
