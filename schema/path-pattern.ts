/**
 * Path patterns compiled once for the hot loops of merge and interpolation: `*` matches any
 * key, `[]` any index (the same language as `tree-path.ts`'s `matches`, without re-parsing
 * the pattern on every call).
 */
import { steps } from './tree-path.js';

export type Step = string | number;
/** A compiled pattern: keys, `*`, and -1 standing for `[]`. */
export type CompiledPattern = readonly Step[];

export function compilePattern(pattern: string): CompiledPattern {
  const out: Step[] = [];
  for (const m of pattern.matchAll(/([^.[\]]+)|(\[\])/g)) out.push(m[2] !== undefined ? -1 : (m[1] as string));
  return out;
}

export function stepsMatch(path: readonly Step[], pattern: CompiledPattern): boolean {
  if (path.length !== pattern.length) return false;
  for (let i = 0; i < path.length; i++) {
    const p = pattern[i];
    const s = path[i];
    if (p === '*') {
      if (typeof s !== 'string') return false;
    } else if (p === -1) {
      if (typeof s !== 'number') return false;
    } else if (p !== s) return false;
  }
  return true;
}

/** The first row whose pattern matches `path`. */
export function findRule<T>(rows: ReadonlyArray<readonly [CompiledPattern, T]>, path: string | readonly Step[]): T | undefined {
  const s = typeof path === 'string' ? steps(path) : path;
  for (const [pattern, value] of rows) if (stepsMatch(s, pattern)) return value;
  return undefined;
}
