import { styleText } from 'node:util';
import { AgentSecretsError, exitCodeFor, toAgentSecretsError } from '@agentsecrets/errors';

/** Where a command writes; tests pass their own streams and environment. */
export interface Io {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/**
 * ANSI colours only on a terminal that has them and only when NO_COLOR is unset: Node's `util.styleText` checks the
 * stream (TTY, colour depth, NO_COLOR, FORCE_COLOR, TERM=dumb in the process environment); `env` is checked too, for
 * a CLI run with an environment of its own.
 */
export function colours(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv) {
  const off = env.NO_COLOR !== undefined || env.TERM === 'dumb';
  const wrap = (format: Parameters<typeof styleText>[0]) => (text: string) =>
    off ? text : styleText(format, text, { stream });
  return {
    red: wrap('red'),
    green: wrap('green'),
    yellow: wrap('yellow'),
    dim: wrap('dim'),
    bold: wrap('bold'),
  };
}

/** Writes one line. */
export function line(stream: NodeJS.WriteStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** Writes `value` as pretty JSON. */
export function json(stream: NodeJS.WriteStream, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain-text table: columns padded to the widest cell. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

/** A usage error (exit 2) with a hint. */
export function usage(message: string, hint: string): AgentSecretsError {
  return new AgentSecretsError('INVALID_ARGUMENT', message, { hint });
}

/**
 * The one place errors leave the CLI: one line with the code, message and hint, the exit code of the error's kind.
 * The stack only with --debug.
 */
export function reportError(error: unknown, io: Io, debug: boolean): number {
  const e = toAgentSecretsError(error);
  const c = colours(io.stderr, io.env);
  line(io.stderr, `${c.red(`error ${e.code}`)}: ${e.message}${e.hint ? ` — ${e.hint}` : ''}`);
  if (debug) {
    line(io.stderr, e.stack ?? '');
    if (e.cause !== undefined)
      line(io.stderr, `cause: ${e.cause instanceof Error ? e.cause.stack : String(e.cause)}`);
  }
  return exitCodeFor(e.code);
}

/** Reads all of stdin as bytes. */
export async function readStdin(stdin: NodeJS.ReadStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * Asks for a hidden value on the terminal (nothing is echoed). Refuses when stdin is not a terminal, with `hint`:
 * what the caller takes instead (its --stdin, AGENTSECRETS_PASSPHRASE); only commands that have --stdin say so.
 */
export async function promptHidden(
  io: Io,
  question: string,
  hint = 'run it in a terminal to answer the prompt',
): Promise<string> {
  const { stdin, stderr } = io;
  if (!stdin.isTTY) {
    throw new AgentSecretsError('PASSPHRASE_REQUIRED', `cannot ask "${question.trim()}" without a terminal`, {
      hint,
    });
  }
  // Raw before the question is shown, so a Ctrl-C typed at once reaches the handler below, not the terminal's SIGINT.
  stdin.setRawMode(true);
  stdin.resume();
  stderr.write(question);
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003')
          return done(
            new AgentSecretsError('CANCELLED', 'cancelled at the prompt (Ctrl-C)', {
              hint: 'run the command again to continue',
            }),
          );
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The owner passphrase: AGENTSECRETS_PASSPHRASE for automation, else a hidden prompt (`hint` when there is no terminal). */
export async function ownerPassphrase(
  io: Io,
  confirm = false,
  hint = "run it in a terminal, or set AGENTSECRETS_PASSPHRASE for automation (never in an agent's environment)",
): Promise<string> {
  const fromEnv = io.env.AGENTSECRETS_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const first = await promptHidden(
    io,
    confirm ? 'Choose the owner passphrase: ' : 'Owner passphrase: ',
    hint,
  );
  if (confirm) {
    const again = await promptHidden(io, 'Repeat it: ', hint);
    if (again !== first)
      throw usage('the two passphrases differ', 'run it again and type the same passphrase twice');
  }
  return first;
}

/** The sync account password: AGENTSECRETS_SYNC_PASSWORD for automation, else a hidden prompt. */
export async function accountPassword(io: Io, confirm: boolean): Promise<string> {
  const fromEnv = io.env.AGENTSECRETS_SYNC_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const hint = 'run it in a terminal, or set AGENTSECRETS_SYNC_PASSWORD for automation';
  const first = await promptHidden(
    io,
    confirm ? 'Choose the account password: ' : 'Account password: ',
    hint,
  );
  if (confirm) {
    if (first.length < 10)
      throw usage('the account password must be at least 10 characters', 'choose a longer one');
    if ((await promptHidden(io, 'Repeat it: ', hint)) !== first)
      throw usage('the two passwords differ', 'run it again');
  }
  return first;
}

/** Asks a yes/no question at a hidden prompt; true only for "yes". */
export async function confirmYes(io: Io, question: string): Promise<boolean> {
  const answer = await promptHidden(io, question);
  return answer.trim().toLowerCase() === 'yes';
}
