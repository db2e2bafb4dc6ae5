/**
 * The one generic walker the model phases share (canonical, defaults, paths): a table from path
 * pattern to a small rule, applied top-down, as compose-go's transform package does. A new
 * attribute is one row and one function.
 *
 * Patterns use `tree-path.ts` syntax: `*` is any one mapping key, `[]` any sequence index
 * (`services.*.ports[]`). A rule gets the value at a matching path and returns its replacement;
 * the walker then descends into the replacement, so a list rule and an item rule compose
 * (`services.*.ports` expands short entries, `services.*.ports[]` fills each entry).
 * Returning `undefined` removes the key. Rows matching the same path run in table order.
 *
 * The patterns are compiled into a trie and the walk follows it: a subtree no pattern can reach
 * is neither visited nor copied, and a mapping or sequence none of whose values changed comes
 * back as it is (the input is never edited; the output shares what did not change). The bench
 * loads thousands of services: copying every node and building every path on each of the four
 * passes was most of the loader's time. Paths are built only for a rule that runs.
 */
import { next } from './tree-path.js';
import type { PositionTable } from './positions.js';
import { setKey } from './set-key.js';

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

/** One state of the compiled table: where each next step leads, and the rules ending here. */
interface TrieNode {
  keys: Map<string, TrieNode>;
  anyKey: TrieNode | undefined;
  anyIndex: TrieNode | undefined;
  /** Rules whose pattern ends here, with their row number (table order decides among states). */
  rules: Array<{ row: number; rule: Rule }>;
}

const newNode = (): TrieNode => ({ keys: new Map(), anyKey: undefined, anyIndex: undefined, rules: [] });

const compiledTables = new WeakMap<RuleTable, TrieNode>();

function compile(table: RuleTable): TrieNode {
  const cached = compiledTables.get(table);
  if (cached !== undefined) return cached;
  const root = newNode();
  let row = 0;
  for (const [pattern, rule] of table) {
    let node = root;
    const re = /([^.[\]]+)|(\[\])/g;
    for (let m = re.exec(pattern); m !== null; m = re.exec(pattern)) {
      if (m[2] !== undefined) node = node.anyIndex ??= newNode();
      else if (m[1] === '*') node = node.anyKey ??= newNode();
      else {
        const key = m[1] as string;
        let child = node.keys.get(key);
        if (child === undefined) node.keys.set(key, (child = newNode()));
        node = child;
      }
    }
    node.rules.push({ row: row++, rule });
  }
  compiledTables.set(table, root);
  return root;
}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const NO_STATES: readonly TrieNode[] = [];

/** The states after stepping from `states` by mapping key `key`. */
function byKey(states: readonly TrieNode[], key: string): readonly TrieNode[] {
  if (states.length === 1) {
    const s = states[0] as TrieNode;
    const lit = s.keys.get(key);
    if (lit === undefined) return s.anyKey === undefined ? NO_STATES : [s.anyKey];
    return s.anyKey === undefined ? [lit] : [lit, s.anyKey];
  }
  const out: TrieNode[] = [];
  for (const s of states) {
    const lit = s.keys.get(key);
    if (lit !== undefined) out.push(lit);
    if (s.anyKey !== undefined) out.push(s.anyKey);
  }
  return out;
}

function byIndex(states: readonly TrieNode[]): readonly TrieNode[] {
  const out: TrieNode[] = [];
  for (const s of states) if (s.anyIndex !== undefined) out.push(s.anyIndex);
  return out;
}

/** The rules of `states`, in table order. */
function rulesOf(states: readonly TrieNode[]): Rule[] {
  const all: Array<{ row: number; rule: Rule }> = [];
  for (const s of states) all.push(...s.rules);
  if (all.length > 1) all.sort((a, b) => a.row - b.row);
  return all.map((r) => r.rule);
}

/** Apply `table` to `tree`; the input is left as it is (unchanged parts are shared). */
export function rewrite<T>(tree: T, table: RuleTable, positions: PositionTable): T {
  const root = compile(table);
  const alias = (newPath: string, oldPath: string): void => {
    if (positions.get(newPath) !== undefined) return;
    const pos = positions.get(oldPath);
    if (pos !== undefined) positions.set(newPath, pos);
  };
  const stack: Step[] = [];

  const visit = (value: unknown, states: readonly TrieNode[]): unknown => {
    let v = value;
    let hasRules = false;
    for (const s of states) if (s.rules.length > 0) hasRules = true;
    if (hasRules) {
      const steps = [...stack];
      const path = steps.reduce<string>((p, k) => next(p, k), '');
      for (const rule of rulesOf(states)) v = rule(v, { path, steps, positions, alias });
    }
    if (Array.isArray(v)) {
      const inner = byIndex(states);
      if (inner.length === 0) return v;
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        stack.push(i);
        const r = visit(item, inner);
        stack.pop();
        if (r !== item && out === undefined) out = v.slice(0, i);
        if (out !== undefined) out.push(r);
      }
      return out ?? v;
    }
    if (isMapping(v)) {
      let out: Record<string, unknown> | undefined;
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const item = v[k];
        const inner = byKey(states, k);
        let r = item;
        if (inner.length > 0) {
          stack.push(k);
          r = visit(item, inner);
          stack.pop();
        }
        if (r !== item && out === undefined) {
          out = {};
          for (let j = 0; j < i; j++) setKey(out, keys[j] as string, v[keys[j] as string]);
        }
        if (out !== undefined && r !== undefined) setKey(out, k, r);
      }
      return out ?? v;
    }
    return v;
  };
  return visit(tree, [root]) as T;
}
