/**
 * COPY/ADD source patterns, matched as Go's `filepath.Match` does (what the Docker builders
 * use for sources): `*` and `?` never cross a `/`, `[...]` classes with ranges and `^`/`!`
 * negation, `\` escapes the next character. A pattern matches whole paths only.
 */
import { TscError } from '../../lib/errors.js';

export function hasGlob(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

function escapeRegex(ch: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(ch) ? `\\${ch}` : ch;
}

/** Compile a pattern to a predicate over `/`-separated relative paths. */
export function compileGlob(pattern: string): (path: string) => boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) throw new TscError('ERR_DOCKERFILE', `syntax error in pattern: ${JSON.stringify(pattern)}`);
      re += escapeRegex(pattern[i] as string);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new TscError('ERR_DOCKERFILE', `syntax error in pattern: ${JSON.stringify(pattern)}`);
      let body = pattern.slice(i + 1, end);
      let neg = '';
      if (body.startsWith('^') || body.startsWith('!')) {
        neg = '^';
        body = body.slice(1);
      }
      re += `(?!/)[${neg}${body.replace(/\\(.)/g, '$1').replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else re += escapeRegex(c);
  }
  const rx = new RegExp(`${re}$`, 's');
  return (path) => rx.test(path);
}
