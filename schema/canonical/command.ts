/**
 * `command` and `entrypoint` written as one string are split the way compose-go splits them
 * (mattn/go-shellwords): blanks separate words, quotes group, a backslash escapes the next
 * character outside single quotes. Like go-shellwords, an unquoted `;`, `&`, `|`, `<` or `>`
 * ends the command: docker compose drops what follows, and so do we.
 * The healthcheck `test` string is `["CMD-SHELL", string]`.
 */
import type { Rule } from '../walk.js';

export function splitShellWords(line: string): string[] {
  const args: string[] = [];
  let buf = '';
  let got = false;
  let escaped = false;
  let single = false;
  let double = false;
  for (const ch of line) {
    if (escaped) {
      buf += ch;
      escaped = false;
      got = true;
      continue;
    }
    if (ch === '\\') {
      if (single) buf += ch;
      else escaped = true;
      continue;
    }
    if (/\s/.test(ch)) {
      if (single || double) {
        buf += ch;
      } else if (got) {
        args.push(buf);
        buf = '';
        got = false;
      }
      continue;
    }
    if (ch === "'" && !double) {
      single = !single;
      got = true;
      continue;
    }
    if (ch === '"' && !single) {
      double = !double;
      got = true;
      continue;
    }
    if (';&|<>'.includes(ch) && !single && !double) break;
    buf += ch;
    got = true;
  }
  if (got) args.push(buf);
  return args;
}

export const transformCommand: Rule = (value) => (typeof value === 'string' ? splitShellWords(value) : value);

export const transformHealthcheckTest: Rule = (value) => (typeof value === 'string' ? ['CMD-SHELL', value] : value);
