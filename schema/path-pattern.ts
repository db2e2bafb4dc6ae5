/**
 * Path patterns compiled once for the hot loops of merge and interpolation: `*` matches any
 * key, `[]` any index (the same language as `tree-path.ts`'s `matches`, without re-parsing
 * the pattern on every call).
 */

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

type Row<T> = readonly [index: number, pattern: CompiledPattern, value: T];

function firstMatch<T>(rows: readonly Row<T>[] | undefined, path: readonly Step[]): Row<T> | undefined {
  if (rows !== undefined) for (const r of rows) if (stepsMatch(path, r[1])) return r;
  return undefined;
}

/**
 * Rows of patterns looked up by a path's length and last step first: `find` answers what
 * a scan of the rows in order would (the first matching row) after trying only the few rows that can match.
 * For lookups made once per value of a large tree (interpolation's casts), where trying every
 * row was a good part of `config`'s time.
 */
export class RuleTable<T> {
  private readonly byLength = new Map<number, { byKey: Map<string, Row<T>[]>; anyKey: Row<T>[]; anyIndex: Row<T>[] }>();

  constructor(rows: ReadonlyArray<readonly [string, T]>) {
    rows.forEach(([text, value], index) => {
      const pattern = compilePattern(text);
      let bucket = this.byLength.get(pattern.length);
      if (bucket === undefined) {
        bucket = { byKey: new Map(), anyKey: [], anyIndex: [] };
        this.byLength.set(pattern.length, bucket);
      }
      const last = pattern[pattern.length - 1];
      const row: Row<T> = [index, pattern, value];
      if (last === '*') bucket.anyKey.push(row);
      else if (last === -1) bucket.anyIndex.push(row);
      else {
        const list = bucket.byKey.get(String(last)) ?? [];
        list.push(row);
        bucket.byKey.set(String(last), list);
      }
    });
  }

  find(path: readonly Step[]): T | undefined {
    const bucket = this.byLength.get(path.length);
    if (bucket === undefined) return undefined;
    const last = path[path.length - 1];
    if (typeof last === 'number') return firstMatch(bucket.anyIndex, path)?.[2];
    const named = firstMatch(bucket.byKey.get(last as string), path);
    const any = firstMatch(bucket.anyKey, path);
    if (named === undefined) return any?.[2];
    return any === undefined || named[0] < any[0] ? named[2] : any[2];
  }
}
