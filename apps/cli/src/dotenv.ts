import { AgentSecretsError } from '@agentsecrets/errors';
import { assertSecretName } from '@agentsecrets/names';
import { parse } from 'dotenv';

/**
 * Parses a dotenv file exactly as the `dotenv` package does (`export `, `#` comments, single, double and backtick
 * quotes, `\n` escapes in double quotes, values spanning lines), since that is the format the file was written for.
 * Node 20's `util.parseEnv` is not used: it joins a line without `=` to the next key and sorts the keys.
 *
 * What `dotenv` skips, this skips. A key `dotenv` accepts but the vault does not (`1ST_KEY`) is refused before
 * anything is imported, by its position only: the error never quotes the file, which holds values.
 */
export function parseDotenv(text: string): [string, string][] {
  const entries = Object.entries(parse(text));
  entries.forEach(([name], i) => {
    try {
      assertSecretName(name);
    } catch (e) {
      throw new AgentSecretsError(
        'INVALID_SECRET_NAME',
        `key ${i + 1} of the dotenv file is not a valid secret name`,
        {
          hint: `${e instanceof AgentSecretsError ? e.message : 'rename it'}; nothing was imported`,
        },
      );
    }
  });
  return entries;
}
