import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDotenv } from './dotenv.js';

const parsed = (text: string) => Object.fromEntries(parseDotenv(text));

// The shapes of the dotenv package's own fixture (tests/.env there), one per line.
const FIXTURE = [
  'BASIC=basic',
  '',
  '# previous line intentionally left blank',
  'AFTER_LINE=after_line',
  'EMPTY=',
  "EMPTY_SINGLE_QUOTES=''",
  'EMPTY_DOUBLE_QUOTES=""',
  'EMPTY_BACKTICKS=``',
  "SINGLE_QUOTES='single_quotes'",
  "SINGLE_QUOTES_SPACED='    single quotes    '",
  'DOUBLE_QUOTES="double_quotes"',
  'DOUBLE_QUOTES_SPACED="    double quotes    "',
  'DOUBLE_QUOTES_INSIDE_SINGLE=\'double "quotes" work inside single quotes\'',
  'DOUBLE_QUOTES_WITH_NO_SPACE_BRACKET="{ port: $MONGOLAB_PORT}"',
  'SINGLE_QUOTES_INSIDE_DOUBLE="single \'quotes\' work inside double quotes"',
  "BACKTICKS_INSIDE_SINGLE='`backticks` work inside single quotes'",
  'BACKTICKS_INSIDE_DOUBLE="`backticks` work inside double quotes"',
  'BACKTICKS=`backticks`',
  'BACKTICKS_SPACED=`    backticks    `',
  'DOUBLE_QUOTES_INSIDE_BACKTICKS=`double "quotes" work inside backticks`',
  "SINGLE_QUOTES_INSIDE_BACKTICKS=`single 'quotes' work inside backticks`",
  'DOUBLE_AND_SINGLE_QUOTES_INSIDE_BACKTICKS=`double "quotes" and single \'quotes\' work inside backticks`',
  'EXPAND_NEWLINES="expand\\nnew\\nlines"',
  'DONT_EXPAND_UNQUOTED=dontexpand\\nnewlines',
  "DONT_EXPAND_SQUOTED='dontexpand\\nnewlines'",
  '# COMMENTS=work',
  'INLINE_COMMENTS=inline comments # work #very #well',
  "INLINE_COMMENTS_SINGLE_QUOTES='inline comments outside of #singlequotes' # work",
  'INLINE_COMMENTS_DOUBLE_QUOTES="inline comments outside of #doublequotes" # work',
  'INLINE_COMMENTS_BACKTICKS=`inline comments outside of #backticks` # work',
  'INLINE_COMMENTS_SPACE=inline comments start with a#number sign. no space required.',
  'EQUAL_SIGNS=equals==',
  'RETAIN_INNER_QUOTES={"foo": "bar"}',
  'RETAIN_INNER_QUOTES_AS_STRING=\'{"foo": "bar"}\'',
  'RETAIN_INNER_QUOTES_AS_BACKTICKS=`{"foo": "bar\'s"}`',
  'TRIM_SPACE_FROM_UNQUOTED=    some spaced out string',
  'USERNAME=therealnerdybeast@example.tld',
  '    SPACED_KEY = parsed',
  'export EXPORTED=exported value',
  'MULTI_DOUBLE_QUOTED="THIS',
  'IS',
  'A',
  'MULTILINE',
  'STRING"',
  "MULTI_SINGLE_QUOTED='THIS",
  'IS',
  "A MULTILINE'",
  'MULTI_PEM_DOUBLE_QUOTED="-----BEGIN PUBLIC KEY-----',
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnNl1tL3QjKp3DZWM0T3u',
  '-----END PUBLIC KEY-----"',
  '',
].join('\n');

describe('parseDotenv', () => {
  it('reads the dotenv package fixture as dotenv does', () => {
    const env = parsed(FIXTURE);
    expect(env).toMatchObject({
      BASIC: 'basic',
      AFTER_LINE: 'after_line',
      EMPTY: '',
      EMPTY_SINGLE_QUOTES: '',
      EMPTY_DOUBLE_QUOTES: '',
      EMPTY_BACKTICKS: '',
      SINGLE_QUOTES_SPACED: '    single quotes    ',
      DOUBLE_QUOTES_SPACED: '    double quotes    ',
      DOUBLE_QUOTES_INSIDE_SINGLE: 'double "quotes" work inside single quotes',
      BACKTICKS_SPACED: '    backticks    ',
      DOUBLE_AND_SINGLE_QUOTES_INSIDE_BACKTICKS:
        'double "quotes" and single \'quotes\' work inside backticks',
      EXPAND_NEWLINES: 'expand\nnew\nlines',
      DONT_EXPAND_UNQUOTED: 'dontexpand\\nnewlines',
      DONT_EXPAND_SQUOTED: 'dontexpand\\nnewlines',
      INLINE_COMMENTS: 'inline comments',
      INLINE_COMMENTS_SINGLE_QUOTES: 'inline comments outside of #singlequotes',
      INLINE_COMMENTS_DOUBLE_QUOTES: 'inline comments outside of #doublequotes',
      INLINE_COMMENTS_BACKTICKS: 'inline comments outside of #backticks',
      INLINE_COMMENTS_SPACE: 'inline comments start with a',
      EQUAL_SIGNS: 'equals==',
      RETAIN_INNER_QUOTES: '{"foo": "bar"}',
      RETAIN_INNER_QUOTES_AS_BACKTICKS: '{"foo": "bar\'s"}',
      TRIM_SPACE_FROM_UNQUOTED: 'some spaced out string',
      USERNAME: 'therealnerdybeast@example.tld',
      SPACED_KEY: 'parsed',
      EXPORTED: 'exported value',
      MULTI_DOUBLE_QUOTED: 'THIS\nIS\nA\nMULTILINE\nSTRING',
      MULTI_SINGLE_QUOTED: 'THIS\nIS\nA MULTILINE',
      MULTI_PEM_DOUBLE_QUOTED:
        '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnNl1tL3QjKp3DZWM0T3u\n-----END PUBLIC KEY-----',
    });
    expect(env).not.toHaveProperty('COMMENTS');
  });

  it('a quoted value with a comment after it on line 1 does not swallow the next lines (issue 13)', () => {
    expect(
      parseDotenv(
        'DATABASE_URL="postgres://app:pw@localhost:5432/app" # local db\nREDIS_URL=redis://localhost\nDEBUG=1\n',
      ),
    ).toEqual([
      ['DATABASE_URL', 'postgres://app:pw@localhost:5432/app'],
      ['REDIS_URL', 'redis://localhost'],
      ['DEBUG', '1'],
    ]);
  });

  it('reads CRLF files, and the last of a repeated key wins', () => {
    expect(parseDotenv('A=1\r\nB="two"\r\nA=3\r\n')).toEqual([
      ['A', '3'],
      ['B', 'two'],
    ]);
  });

  it('refuses a key the vault cannot hold, without quoting the file', () => {
    expect(() => parseDotenv('GOOD=sk_canary_value\n1BAD=sk_canary_value\n')).toThrow(
      expect.objectContaining({
        code: 'INVALID_SECRET_NAME',
        message: expect.not.stringContaining('canary'),
      }),
    );
  });

  it('round-trips any value written double-quoted with dotenv escapes', () => {
    fc.assert(
      fc.property(
        fc.string().filter((v) => !/["\\\r]/.test(v) && v.trim() === v),
        (value) => {
          const text = `KEY="${value.replace(/\n/g, '\\n')}" # comment\nNEXT=1\n`;
          expect(parsed(text)).toEqual({ KEY: value, NEXT: '1' });
        },
      ),
    );
  });
});
