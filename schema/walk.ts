/**
 * The one generic walker the model phases share (canonical, defaults, paths): a table from path
 * pattern to a small rule, applied top-down over a copy of the tree, as compose-go's transform
 * package does. A new attribute is one row and one function.
 *
 * Patterns use `tree-path.ts` syntax: `*` is any one mapping key, `[]` any sequence index
 * (`services.*.ports[]`). A rule gets the value at a matching path and returns its replacement;
 * the walker then descends into the replacement, so a list rule and an item rule compose
 * (`services.*.ports` expands short entries, `services.*.ports[]` fills each entry).
 * Returning `undefined` removes the key.
 *
 * The walker matches on the steps it carries, never by re-parsing path strings: keys may contain
 * dots (`com.example.label`) and the bench loads thousands of services.
 */
import { next } from './tree-path.js';
import type { PositionTable } from './positions.js';

export type Step = string | number;

export interface At {
  /** Path of the value as users read it: `services.web.ports[1]`. */
  path: string;
  steps: readonly Step[];
  positions: PositionTable;
  /** Record that `newPath` (made by this rule) stands where `oldPath` was written. */
  alias(newPath: string, oldPath: string): void;
}

export type Rule = (value: unknown, at: At) => unknown;

export type RuleTable = ReadonlyMap<string, Rule>;

interface CompiledRule {
  steps: string[];
  rule: Rule;
}

function compile(table: RuleTable): Map<number, CompiledRule[]> {
  const byLength = new Map<number, CompiledRule[]>();
  for (const [pattern, rule] of table) {
    const steps: string[] = [];
    const re = /([^.[\]]+)|(\[\])/g;
    for (let m = re.exec(pattern); m !== null; m = re.exec(pattern)) steps.push(m[2] ?? (m[1] as string));
    const list = byLength.get(steps.length) ?? [];
    list.push({ steps, rule });
    byLength.set(steps.length, list);
  }
  return byLength;
}

function stepMatches(p: string, s: Step): boolean {
  if (p === '*') return typeof s === 'string';
  if (p === '[]') return typeof s === 'number';
  return p === s;
}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Apply `table` to a copy of `tree`; the input is left as it is. */
export function rewrite<T>(tree: T, table: RuleTable, positions: PositionTable): T {
  const compiled = compile(table);
  const alias = (newPath: string, oldPath: string): void => {
    if (positions.get(newPath) !== undefined) return;
    const pos = positions.get(oldPath);
    if (pos !== undefined) positions.set(newPath, pos);
  };

  const visit = (value: unknown, path: string, steps: Step[]): unknown => {
    let v = value;
    const candidates = compiled.get(steps.length);
    if (candidates !== undefined) {
      for (const c of candidates) {
        if (c.steps.every((p, i) => stepMatches(p, steps[i] as Step))) {
          v = c.rule(v, { path, steps, positions, alias });
        }
      }
    }
    if (Array.isArray(v)) {
      return v.map((item, i) => visit(item, next(path, i), [...steps, i]));
    }
    if (isMapping(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        const r = visit(item, next(path, k), [...steps, k]);
        if (r !== undefined) out[k] = r;
      }
      return out;
    }
    return v;
  };
  return visit(tree, '', []) as T;
}
