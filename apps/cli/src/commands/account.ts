import { Command } from 'commander';
import type { Context } from '../context.js';
import { accountPassword, line } from '../io.js';

// The sync account: `signup`, `login`, `logout`, each an owner action.

/** `signup <email>`. */
export function signupCommand(ctx: Context): Command {
  return new Command('signup')
    .argument('<email>')
    .description(
      'owner only: create an account on the sync server (AGENTSECRETS_SERVER); the password never leaves this machine',
    )
    .action(async (email: string) => {
      const core = await ctx.core();
      const owner = await ctx.owner();
      await core.team.signup(email, await accountPassword(ctx.io, true), owner);
      line(ctx.io.stdout, `signed up and logged in as ${email}; next: agentsecrets workspace create NAME`);
    });
}

/** `login <email>`. */
export function loginCommand(ctx: Context): Command {
  return new Command('login')
    .argument('<email>')
    .description(
      'owner only: log in to the sync server; the session is kept in the local vault, and team policy applies only to a sync the owner set up',
    )
    .action(async (email: string) => {
      const core = await ctx.core();
      const owner = await ctx.owner();
      await core.team.login(email, await accountPassword(ctx.io, false), owner);
      line(ctx.io.stdout, `logged in as ${email}`);
    });
}

/** `logout`. */
export function logoutCommand(ctx: Context): Command {
  return new Command('logout')
    .description(
      'owner only: revoke this session on the server and forget it here; team policy stops applying (local secrets stay)',
    )
    .action(async () => {
      const core = await ctx.core();
      await core.team.logout(await ctx.owner());
      line(ctx.io.stdout, 'logged out');
    });
}
