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

/**
 * A set of trie states, made deterministic on first use: where each key leads and the rules
 * that end here, computed once per set (the walk then allocates nothing to step).
 */
interface StateSet {
  nodes: readonly TrieNode[];
  /** The rules ending in any of `nodes`, in table order. */
  rules: readonly Rule[];
  byKey: Map<string, StateSet | null>;
  byIndex: StateSet | null | undefined;
}

/** Every state set made for one table, by the ids of its nodes. */
interface Sets {
  ids: Map<TrieNode, number>;
  sets: Map<string, StateSet>;
}

/** The state sets of each compiled table, kept across walks (the same tables run per file). */
const setsByTable = new WeakMap<TrieNode, Sets>();

function stateSet(nodes: readonly TrieNode[], sets: Sets): StateSet | null {
  if (nodes.length === 0) return null;
  const key = nodes.map((n) => sets.ids.get(n) ?? sets.ids.set(n, sets.ids.size).size - 1).join(',');
  let set = sets.sets.get(key);
  if (set === undefined) {
    const all: Array<{ row: number; rule: Rule }> = [];
    for (const n of nodes) all.push(...n.rules);
    all.sort((a, b) => a.row - b.row);
    set = { nodes, rules: all.map((r) => r.rule), byKey: new Map(), byIndex: undefined };
    sets.sets.set(key, set);
  }
  return set;
}

/** The states after stepping from `set` by mapping key `key`. */
function byKey(set: StateSet, key: string, sets: Sets): StateSet | null {
  let next = set.byKey.get(key);
  if (next === undefined) {
    const nodes: TrieNode[] = [];
    for (const s of set.nodes) {
      const lit = s.keys.get(key);
      if (lit !== undefined) nodes.push(lit);
      if (s.anyKey !== undefined) nodes.push(s.anyKey);
    }
    next = stateSet(nodes, sets);
    set.byKey.set(key, next);
  }
  return next;
}

function byIndex(set: StateSet, sets: Sets): StateSet | null {
  if (set.byIndex === undefined) {
    const nodes: TrieNode[] = [];
    for (const s of set.nodes) if (s.anyIndex !== undefined) nodes.push(s.anyIndex);
    set.byIndex = stateSet(nodes, sets);
  }
  return set.byIndex;
}

/**
 * What a rule gets: the steps, and the path written out only if the rule reads it (most rules
 * see a canonical value and never do). Rules that pass a derived `At` on spread it with their
 * own `path`.
 */
class RuleAt implements At {
  private written: string | undefined;

  constructor(
    readonly steps: readonly Step[],
    readonly positions: PositionTable,
    readonly alias: (newPath: string, oldPath: string) => void,
  ) {}

  get path(): string {
    this.written ??= this.steps.reduce<string>((p, k) => next(p, k), '');
    return this.written;
  }
}

/** Apply `table` to `tree`; the input is left as it is (unchanged parts are shared). */
export function rewrite<T>(tree: T, table: RuleTable, positions: PositionTable): T {
  const trie = compile(table);
  let sets = setsByTable.get(trie);
  if (sets === undefined) setsByTable.set(trie, (sets = { ids: new Map(), sets: new Map() }));
  const root = stateSet([trie], sets) as StateSet;
  const known: Sets = sets;
  const alias = (newPath: string, oldPath: string): void => positions.alias(newPath, oldPath);
  const stack: Step[] = [];
  const visit = (value: unknown, set: StateSet): unknown => {
    let v = value;
    if (set.rules.length > 0) {
      const where = new RuleAt([...stack], positions, alias);
      for (const rule of set.rules) v = rule(v, where);
    }
    if (Array.isArray(v)) {
      const inner = byIndex(set, known);
      if (inner === null) return v;
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
        const inner = byKey(set, k, known);
        let r = item;
        if (inner !== null) {
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
  return visit(tree, root) as T;
}
