/**
 * `.dockerignore` as moby reads it (`moby/patternmatcher` and its `ignorefile.ReadAll`):
 * `#` comments only at the start of a line, patterns trimmed and cleaned like Go's
 * filepath.Clean with a leading `/` dropped, `!` exceptions, last match wins, and a path is
 * excluded when it or any of its parent directories matches. Patterns: `*` and `?` stop at `/`,
 * `**` crosses directories, `[...]` classes, `\` escapes.
 * `shouldDescend` lets a context walk skip excluded directories, except those an exception
 * pattern could reach into (moby only checks a literal prefix; we also follow `*` and `**`).
 */
import { TscError } from '../../lib/errors.js';

export interface IgnorePattern {
  /** Cleaned pattern without its `!`. */
  pattern: string;
  exclusion: boolean;
  /** 1-based line in the file (0 when given as a list). */
  line: number;
  /** The compiled pattern (exact, prefix, suffix or regular expression, as patternmatcher). */
  test: (path: string) => boolean;
  /** The pattern's `/`-separated parts, for shouldDescend. */
  dirs: string[];
}

export interface DockerIgnore {
  patterns: IgnorePattern[];
  /** True when the path (relative to the context, `/`-separated) is left out of the context. */
  matches(path: string): boolean;
  /** False when a walk can skip this directory: it is excluded and no exception can reach inside. */
  shouldDescend(dir: string): boolean;
}

/** Go's filepath.Clean on `/` paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = out.join('/');
  if (rooted) return '/' + s;
  return s === '' ? '.' : s;
}

/** The patterns of a .dockerignore file, as ignorefile.ReadAll returns them, with lines. */
export function readDockerignore(text: string): { pattern: string; line: number }[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out: { pattern: string; line: number }[] = [];
  lines.forEach((raw, i) => {
    let pattern = i === 0 ? raw.replace(/^\ufeff/, '') : raw;
    if (pattern.startsWith('#')) return;
    pattern = pattern.trim();
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push({ pattern: invert ? '!' + pattern : pattern, line: i + 1 });
  });
  return out;
}

const regexSpecial = new Set(['.', '+', '(', ')', '{', '}', '$', '|', '^']);

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

/**
 * patternmatcher's compile: a pattern with no wildcard is an exact match, `x**` a prefix
 * match, `**x` (without later wildcards) a suffix match (so `**foo` matches `myfoo`), anything
 * else a regular expression.
 */
function compilePattern(pattern: string): (path: string) => boolean {
  let re = '^';
  let type: MatchType = 'exact';
  const chars = [...pattern];
  let inClass = false;
  for (let i = 0, n = 0; i < chars.length; i++, n++) {
    const ch = chars[i] ?? '';
    if (inClass && ch === '^' && chars[i - 1] === '[') {
      re += '^';
      continue;
    }
    if (ch === '[' || ch === ']') {
      inClass = ch === '[';
      re += ch;
      type = 'regexp';
      continue;
    }
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        if (i + 1 >= chars.length) {
          if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          re += '(.*/)?';
          type = 'regexp';
        }
        if (n === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (regexSpecial.has(ch)) re += '\\' + ch;
    else if (ch === '\\') {
      if (i + 1 < chars.length) {
        i++;
        re += escapeChar(chars[i] ?? '');
        type = 'regexp';
      } else re += '\\\\';
    } else if (ch === '/') re += '\\/';
    else re += ch;
  }
  switch (type) {
    case 'exact':
      return (path) => path === pattern;
    case 'prefix': {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case 'suffix': {
      const suffix = pattern.slice(2);
      return (path) => path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
    }
    default: {
      const regex = new RegExp(re + '$');
      return (path) => regex.test(path);
    }
  }
}

function escapeChar(ch: string): string {
  return /[A-Za-z0-9]/.test(ch) ? ch : '\\' + ch;
}

/** filepath.Match's syntax check: an unclosed `[`, an empty class or a trailing `\`. */
function badPattern(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '\\') {
      if (i + 1 >= p.length) return true;
      i++;
    } else if (ch === '[') {
      let j = i + 1;
      if (p[j] === '^' || p[j] === '!') j++;
      const start = j;
      while (j < p.length && p[j] !== ']') {
        if (p[j] === '\\') j++;
        j++;
      }
      if (j >= p.length || j === start) return true;
      i = j;
    }
  }
  return false;
}

/** Compile patterns (as readDockerignore gives them, or plain strings) into a matcher. */
export function compileDockerignore(
  patterns: (string | { pattern: string; line: number })[],
  file = '.dockerignore',
): DockerIgnore {
  const compiled: IgnorePattern[] = [];
  for (const entry of patterns) {
    const line = typeof entry === 'string' ? 0 : entry.line;
    let p = (typeof entry === 'string' ? entry : entry.pattern).trim();
    if (p === '') continue;
    p = cleanPath(p);
    const where = { file, line: line === 0 ? undefined : line };
    let exclusion = false;
    if (p.startsWith('!')) {
      if (p.length === 1) throw new TscError('ERR_DOCKERFILE', 'illegal exclusion pattern: "!"', where);
      exclusion = true;
      p = p.slice(1);
    }
    if (badPattern(p)) throw new TscError('ERR_DOCKERFILE', `syntax error in pattern: ${JSON.stringify(p)}`, where);
    let test: (path: string) => boolean;
    try {
      test = compilePattern(p);
    } catch (e) {
      throw new TscError('ERR_DOCKERFILE', `syntax error in pattern: ${JSON.stringify(p)}`, { ...where, cause: e });
    }
    compiled.push({ pattern: p, exclusion, line, test, dirs: p.split('/') });
  }
  const hasExclusions = compiled.some((p) => p.exclusion);

  const matches = (path: string): boolean => {
    const file = cleanPath(path);
    // As moby: the context root itself is never excluded.
    if (file === '.') return false;
    const parent = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
    const parentDirs = parent.split('/');
    let matched = false;
    for (const pat of compiled) {
      if (pat.exclusion !== matched) continue;
      let match = pat.test(file);
      if (!match && parent !== '.') {
        for (let i = 0; i < parentDirs.length && !match; i++) match = pat.test(parentDirs.slice(0, i + 1).join('/'));
      }
      if (match) matched = !pat.exclusion;
    }
    return matched;
  };

  const shouldDescend = (dir: string): boolean => {
    if (!matches(dir)) return true;
    if (!hasExclusions) return false;
    const segs = cleanPath(dir).split('/');
    return compiled.some((p) => p.exclusion && couldMatchBelow(p.dirs, 0, segs, 0));
  };

  return { patterns: compiled, matches, shouldDescend };
}

/** Could a path strictly below `segs` match pattern parts `dirs`? (`**` spans any depth.) */
function couldMatchBelow(dirs: string[], di: number, segs: string[], si: number): boolean {
  if (si === segs.length) return di < dirs.length;
  if (di === dirs.length) return false;
  const d = dirs[di] ?? '';
  // `**` can cover the rest of the directory and reach below it.
  if (d.startsWith('**')) return true;
  if (!compilePattern(d)(segs[si] ?? '')) return false;
  return couldMatchBelow(dirs, di + 1, segs, si + 1);
}

/** Read and compile a .dockerignore file's text. */
export function parseDockerignore(text: string, file = '.dockerignore'): DockerIgnore {
  return compileDockerignore(readDockerignore(text), file);
}
