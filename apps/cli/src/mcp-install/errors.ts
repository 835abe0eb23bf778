import { AgentSecretsError } from '@agentsecrets/errors';

const RETRY = 'fix or move the file aside, then run `agentsecrets mcp install` again';

/**
 * A config file we refuse to edit. The message names the file and a position, never the parser's own text: parsers
 * quote the offending line, and client configs often hold other tools' API keys.
 */
export function configInvalid(path: string, what: string, hint: string = RETRY): AgentSecretsError {
  return new AgentSecretsError('CONFIG_INVALID', `${path} ${what}; nothing was changed`, { hint });
}

/** Line and column (1-based) of a character offset, for error messages. */
export function position(text: string, offset: number): string {
  const upTo = text.slice(0, Math.max(0, offset));
  const line = upTo.split('\n').length;
  const column = offset - (upTo.lastIndexOf('\n') + 1) + 1;
  return `line ${line}, column ${column}`;
}

/** Our own edit did not come out as planned: refuse rather than write something unexpected. */
export function unsafeEdit(path: string): AgentSecretsError {
  return configInvalid(
    path,
    'could not be edited without touching other settings',
    'add the agentsecrets server by hand (see `agentsecrets mcp install --dry-run`) and report this',
  );
}
