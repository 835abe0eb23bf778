import { Command } from 'commander';
import type { Context } from '../context.js';
import { accountPassword, json, line, table } from '../io.js';

/**
 * `workspace`: its settings (`settings`, the allowlist tree the program mounts here too) and the team workspaces:
 * `create|list|switch|upgrade|invite|members|promote|demote|remove`.
 */
export function workspaceCommand(ctx: Context, settings: readonly Command[]): Command {
  const workspace = new Command('workspace').description('workspace settings (team commands come with sync)');
  for (const command of settings) workspace.addCommand(command);
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
      const ws = await core.team.upgradeWorkspace(
        name,
        await ctx.owner(),
        await accountPassword(ctx.io, false),
      );
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
          : { fingerprint: opts.fingerprint, password: await accountPassword(ctx.io, false) },
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
        await core.team.setRole(email, role, await accountPassword(ctx.io, false));
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
      const { rotated } = await core.team.remove(email, await accountPassword(ctx.io, false));
      line(
        ctx.io.stdout,
        rotated
          ? `removed ${email}; the workspace key was rotated`
          : `removed ${email}; the workspace key rotation is pending (the next sync by an admin does it)`,
      );
    });

  return workspace;
}
