/**
 * Parse one compose file: YAML 1.2 text → plain trees, one per document, with a position for
 * every key and sequence item. We walk the `yaml` package's nodes ourselves rather than call
 * `toJS()` because positions must be read before nodes become plain values, and because the
 * Compose dialect differs from plain YAML 1.2 in three ways: `<<` merge keys are honoured,
 * keys are always strings, and `!reset` / `!override` tags are recorded for the merge phase.
 */
import type { LineCounter, Node } from 'yaml';

import { TscError } from '../lib/errors.js';
import { fastParseDocument } from './fast-yaml.js';
import { yamlNode, type AnchorIndex, type YamlNode } from './yaml-node.js';
import { yamlPackage } from './yaml-package.js';
import type { ComposeTree } from './phase.js';
import { PositionTable } from './positions.js';
import { setKey } from './set-key.js';
import { next } from './tree-path.js';

export { setKey } from './set-key.js';

/** `!reset` drops a value inherited from an earlier file; `!override` replaces it whole. */
export type MergeTag = 'reset' | 'override';

export interface ParsedDocument {
  tree: ComposeTree;
  positions: PositionTable;
  /**
   * Paths carrying a `!reset` or `!override` tag (resolved by `merge.ts`). A `!reset` key is
   * not in `tree` at all.
   */
  tags: Map<string, MergeTag>;
}

/**
 * What a `!reset` node becomes while walking: the key (or item) is left out of the tree, so
 * that no phase before merge sees it; its path stays in `tags` for `merge.ts`.
 */
const RESET = Symbol('reset');

/**
 * Nodes visited through aliases, per document. An alias re-walks its anchor, so nested
 * aliases grow exponentially ("billion laughs"); plain nodes are bounded by the file's size.
 * compose-go caps node visits at the same figure.
 */
export const MAX_ALIAS_NODE_VISITS = 100_000;

interface WalkState {
  file: string;
  positions: PositionTable;
  tags: Map<string, MergeTag>;
  aliasVisits: number;
  /** Anchored nodes by name, in document order (the `yaml` package's own lookup is linear). */
  anchors: AnchorIndex;
  /** Anchored nodes being expanded right now: an alias to one of them would never end. */
  expanding: Set<unknown>;
}

/** Parse `text` (the content of `file`, used in positions and errors) into its documents. */
export function parseCompose(text: string, file: string, opts: { fast?: boolean } = {}): ParsedDocument[] {
  // The common shape is read by fast-yaml.ts; anything else (and every error) by the package.
  const fast = opts.fast === false ? undefined : fastParseDocument(text);
  const roots = fast !== undefined ? [fast] : packageDocuments(text, file);
  const out: ParsedDocument[] = [];
  for (const { root, anchors } of roots) {
    const positions = new PositionTable(file);
    const state: WalkState = { file, positions, tags: new Map(), aliasVisits: 0, expanding: new Set(), anchors };
    if (root === null || (root.kind === 'scalar' && root.raw === null)) {
      out.push({ tree: {}, positions, tags: state.tags });
      continue;
    }
    if (root.kind !== 'map') {
      const pos = locate(state, root);
      throw new TscError('ERR_COMPOSE_YAML', 'top-level object must be a mapping', { file, line: pos.line, col: pos.col });
    }
    positions.setAt('', root.line, root.col);
    const tree = toValue(state, root, '', false);
    out.push({ tree: tree === RESET ? {} : (tree as ComposeTree), positions, tags: state.tags });
  }
  return out.length === 0 ? [emptyDocument(file)] : out;
}

/** The documents of `text` as the `yaml` package reads them, as nodes `toValue` walks. */
function packageDocuments(text: string, file: string): Array<{ root: YamlNode | null; anchors: AnchorIndex }> {
  const yaml = yamlPackage();
  const lines = new yaml.LineCounter();
  const docs = yaml.parseAllDocuments(text, { lineCounter: lines, version: '1.2', uniqueKeys: false, merge: false });
  if (!Array.isArray(docs)) return []; // an empty stream
  return docs.map((doc) => {
    const err = doc.errors[0];
    if (err !== undefined) {
      const pos = err.linePos?.[0];
      const msg = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
      throw new TscError('ERR_COMPOSE_YAML', `invalid YAML: ${msg}`, { file, line: pos?.line, col: pos?.col });
    }
    const anchors: AnchorIndex = new Map();
    return { root: fromPackage(doc.contents, lines, anchors), anchors };
  });
}

/**
 * A node of the `yaml` package as a YamlNode, its anchored nodes added to `anchors` in the
 * order the package's `visit` meets them (keys before values, parents before children).
 */
function fromPackage(node: unknown, lines: LineCounter, anchors: AnchorIndex): YamlNode | null {
  if (node === null || node === undefined) return null;
  const yaml = yamlPackage();
  const n = node as Node;
  const start = n.range?.[0] ?? 0;
  const { line, col } = lines.linePos(start);
  if (yaml.isAlias(n)) {
    const out = yamlNode('alias', start, line, col);
    out.raw = n.source;
    return out;
  }
  let out: YamlNode;
  if (yaml.isScalar(n)) {
    out = yamlNode('scalar', start, line, col);
    out.raw = n.value;
    const untagged = n.tag === undefined || n.tag === '!reset' || n.tag === '!override';
    if (n.type === 'PLAIN' && untagged && typeof n.source === 'string') out.plain = n.source;
    out.merge = n.value === '<<' && n.type === 'PLAIN';
  } else if (yaml.isSeq(n)) {
    out = yamlNode('seq', start, line, col);
  } else if (yaml.isMap(n)) {
    out = yamlNode('map', start, line, col);
  } else {
    out = yamlNode('other', start, line, col);
  }
  out.anchor = n.anchor;
  out.tag = n.tag;
  if (n.anchor !== undefined) {
    const list = anchors.get(n.anchor) ?? [];
    list.push({ start, node: out });
    anchors.set(n.anchor, list);
  }
  if (yaml.isSeq(n)) out.items = n.items.map((item) => fromPackage(item, lines, anchors));
  else if (yaml.isMap(n)) {
    const keys: Array<YamlNode | null> = [];
    const values: Array<YamlNode | null> = [];
    for (const pair of n.items) {
      keys.push(fromPackage(pair.key, lines, anchors));
      values.push(fromPackage(pair.value, lines, anchors));
    }
    out.items = keys;
    out.values = values;
  }
  return out;
}

/** The node an alias names: the last node anchored with that name before the alias. */
function resolveAlias(state: WalkState, alias: YamlNode): YamlNode | undefined {
  const at = alias.start;
  const list = state.anchors.get(alias.raw as string) ?? [];
  // binary search: the list is in document order
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] as { start: number }).start < at) lo = mid + 1;
    else hi = mid;
  }
  return list[lo - 1]?.node;
}

function emptyDocument(file: string): ParsedDocument {
  return { tree: {}, positions: new PositionTable(file), tags: new Map() };
}

function locate(state: WalkState, node: YamlNode | null | undefined): { file: string; line: number; col: number } {
  if (node === null || node === undefined) return { file: state.file, line: 1, col: 1 };
  return { file: state.file, line: node.line, col: node.col };
}

function fail(state: WalkState, node: YamlNode | null | undefined, path: string, message: string): TscError {
  const pos = locate(state, node);
  return new TscError('ERR_COMPOSE_YAML', message, { file: state.file, line: pos.line, col: pos.col, path });
}

/** The plain value of `node` at `path`; `viaAlias` counts visits against the alias budget. */
function toValue(state: WalkState, node: YamlNode | null, path: string, viaAlias: boolean): unknown {
  if (viaAlias && ++state.aliasVisits > MAX_ALIAS_NODE_VISITS) {
    throw fail(state, node, path, `document too complex: aliases expand to more than ${MAX_ALIAS_NODE_VISITS} nodes`);
  }
  if (node === null) return null;
  if (node.kind === 'alias') {
    const target = resolveAlias(state, node);
    if (target === undefined) throw fail(state, node, path, `unknown anchor "${String(node.raw)}"`);
    if (state.expanding.has(target)) throw fail(state, node, path, `alias *${String(node.raw)} refers to a node that contains it`);
    state.expanding.add(target);
    try {
      return toValue(state, target, path, true);
    } finally {
      state.expanding.delete(target);
    }
  }
  const tag = node.tag;
  if (tag === '!reset' || tag === '!override') {
    state.tags.set(path, tag === '!reset' ? 'reset' : 'override');
    if (tag === '!reset') return RESET;
  }
  if (node.kind === 'scalar') return node.plain !== undefined ? resolvePlain(node.plain) : scalarValue(node.raw);
  const anchored = (node.kind === 'seq' || node.kind === 'map') && node.anchor !== undefined && !state.expanding.has(node);
  if (!anchored) return collectionValue(state, node, path, viaAlias);
  state.expanding.add(node);
  try {
    return collectionValue(state, node, path, viaAlias);
  } finally {
    state.expanding.delete(node);
  }
}

function collectionValue(state: WalkState, node: YamlNode, path: string, viaAlias: boolean): unknown {
  if (node.kind === 'seq') {
    const items = node.items as Array<YamlNode | null>;
    const out: unknown[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as YamlNode | null;
      const p = next(path, i);
      if (item === null) state.positions.setAt(p, 1, 1);
      else state.positions.setAt(p, item.line, item.col);
      const v = toValue(state, item, p, viaAlias);
      if (v !== RESET) out.push(v);
    }
    return out;
  }
  if (node.kind === 'map') return mappingValue(state, node, path, viaAlias);
  throw fail(state, node, path, 'unsupported YAML node');
}

const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)$/;
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const GO_INF = /^[-+]?\.(inf|Inf|INF)$/;
const GO_NAN = /^\.(nan|NaN|NAN)$/;
/** Only text starting like this can be a number (one regular expression object, not one per call). */
const NUMBER_START = /^[-+.0-9]/;
const GO_NULL = new Set(['', '~', 'null', 'Null', 'NULL']);
const GO_BOOL = new Map([
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['false', false],
  ['False', false],
  ['FALSE', false],
]);

/**
 * A plain (unquoted, untagged) scalar as docker compose's go-yaml v3 resolves it: YAML 1.2
 * booleans only (`yes`/`on` stay strings), and a leading-zero integer is octal (`mode: 0440`
 * is 288), as Go's strconv.ParseInt with base 0 reads it. Underscores are dropped in numbers.
 */
export function resolvePlain(src: string): unknown {
  if (GO_NULL.has(src)) return null;
  const bool = GO_BOOL.get(src);
  if (bool !== undefined) return bool;
  if (GO_INF.test(src)) return src.startsWith('-') ? -Infinity : Infinity;
  if (GO_NAN.test(src)) return NaN;
  if (!NUMBER_START.test(src)) return src;
  const plain = src.includes('_') ? src.replace(/_/g, '') : src;
  if (GO_INT.test(plain)) {
    const neg = plain.startsWith('-');
    const digits = plain.replace(/^[-+]/, '');
    let n: number;
    if (/^0[xX]/.test(digits)) n = parseInt(digits.slice(2), 16);
    else if (/^0[oO]/.test(digits)) n = parseInt(digits.slice(2), 8);
    else if (/^0[bB]/.test(digits)) n = parseInt(digits.slice(2), 2);
    else if (digits.length > 1 && digits.startsWith('0') && /^[0-7]+$/.test(digits)) n = parseInt(digits.slice(1), 8);
    else n = parseInt(digits, 10);
    return neg ? -n : n;
  }
  if (GO_FLOAT.test(plain)) return parseFloat(plain);
  return src;
}

function scalarValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  return v === undefined ? null : v;
}

/**
 * A mapping's plain value. Keys written in the mapping win over keys brought in by `<<`;
 * among several merged mappings the first one listed wins (YAML merge key semantics).
 */
function mappingValue(state: WalkState, node: YamlNode, path: string, viaAlias: boolean): Record<string, unknown> {
  const keys = node.items as Array<YamlNode | null>;
  const values = node.values as Array<YamlNode | null>;
  // Merged mappings are walked first so that the positions of keys written here win.
  let merged: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const keyNode = keys[i] as YamlNode | null;
    if (!isMergeKey(keyNode)) continue;
    merged ??= {};
    for (const source of mergeList(state, values[i] as YamlNode | null, path)) {
      const value = toValue(state, source, path, true);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw fail(state, keyNode, path, 'merge key "<<" expects a mapping or a sequence of mappings');
      }
      for (const k of Object.keys(value)) if (!Object.hasOwn(merged, k)) setKey(merged, k, (value as Record<string, unknown>)[k]);
    }
  }
  const out: Record<string, unknown> = {};
  let reset: Set<string> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const keyNode = keys[i] as YamlNode | null;
    if (isMergeKey(keyNode)) continue;
    const key = stringKey(state, keyNode, path);
    if (Object.hasOwn(out, key) || reset?.has(key) === true) {
      const first = firstDefinition(state, keys, key, path);
      throw fail(state, keyNode, next(path, key), `mapping key "${key}" already defined at line ${first}`);
    }
    const p = next(path, key);
    if (keyNode === null) state.positions.setAt(p, 1, 1);
    else state.positions.setAt(p, keyNode.line, keyNode.col);
    const value = toValue(state, values[i] as YamlNode | null, p, viaAlias);
    if (value === RESET) (reset ??= new Set()).add(key);
    else setKey(out, key, value);
  }
  if (merged !== undefined) {
    for (const k of Object.keys(merged)) if (!Object.hasOwn(out, k) && reset?.has(k) !== true) setKey(out, k, merged[k]);
  }
  return out;
}

/** The line of the first key of a mapping that reads as `key` (for a duplicate key's error). */
function firstDefinition(state: WalkState, keys: Array<YamlNode | null>, key: string, path: string): number {
  for (const keyNode of keys) {
    if (!isMergeKey(keyNode) && stringKey(state, keyNode, path) === key) return locate(state, keyNode).line;
  }
  throw new Error('a duplicate key without a first definition');
}

function isMergeKey(keyNode: YamlNode | null): boolean {
  return keyNode !== null && keyNode.kind === 'scalar' && keyNode.merge;
}

/** What a `<<` key merges: one mapping (often an alias) or a sequence of them. */
function mergeList(state: WalkState, value: YamlNode | null, path: string): Array<YamlNode | null> {
  if (value !== null && value.kind === 'seq') return value.items as Array<YamlNode | null>;
  if (value !== null && value.kind === 'alias') {
    const target = resolveAlias(state, value);
    if (target !== undefined && target.kind === 'seq') return target.items as Array<YamlNode | null>;
  }
  if (value === null) throw fail(state, null, path, 'merge key "<<" expects a mapping');
  return [value];
}

/** Keys are always strings in a compose tree: `80: x` has the key "80". */
function stringKey(state: WalkState, keyNode: YamlNode | null, path: string): string {
  if (keyNode === null) return 'null';
  let node: YamlNode | undefined = keyNode;
  if (node.kind === 'alias') node = resolveAlias(state, node);
  if (node !== undefined && node.kind === 'scalar') {
    const v = node.raw;
    return v === null || v === undefined ? 'null' : String(v);
  }
  throw fail(state, keyNode, path, 'mapping keys must be scalars (strings, numbers or booleans)');
}
