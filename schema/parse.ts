/**
 * Parse one compose file: YAML 1.2 text → plain trees, one per document, with a position for
 * every key and sequence item. We walk the `yaml` package's nodes ourselves rather than call
 * `toJS()` because positions must be read before nodes become plain values, and because the
 * Compose dialect differs from plain YAML 1.2 in three ways: `<<` merge keys are honoured,
 * keys are always strings, and `!reset` / `!override` tags are recorded for the merge phase.
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, visit, type Alias, type Document, type Node } from 'yaml';

import { TscError } from '../lib/errors.js';
import { fastParseDocument } from './fast-yaml.js';
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
  doc: Document;
  lines: LineCounter;
  positions: PositionTable;
  tags: Map<string, MergeTag>;
  aliasVisits: number;
  /** Anchored nodes by name, in document order (the `yaml` package's own lookup is linear). */
  anchors: Map<string, Array<{ start: number; node: Node }>>;
  /** Anchored nodes being expanded right now: an alias to one of them would never end. */
  expanding: Set<unknown>;
}

/** Parse `text` (the content of `file`, used in positions and errors) into its documents. */
export function parseCompose(text: string, file: string, opts: { fast?: boolean } = {}): ParsedDocument[] {
  // The common shape is read by fast-yaml.ts; anything else (and every error) by the package.
  const fast = opts.fast === false ? undefined : fastParseDocument(text);
  const lines = fast?.lines ?? new LineCounter();
  const docs = fast !== undefined ? [fast.doc] : parseAllDocuments(text, { lineCounter: lines, version: '1.2', uniqueKeys: false, merge: false });
  if (!Array.isArray(docs)) return [emptyDocument(file)]; // an empty stream
  const out: ParsedDocument[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err !== undefined) {
      const pos = err.linePos?.[0];
      const msg = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '');
      throw new TscError('ERR_COMPOSE_YAML', `invalid YAML: ${msg}`, { file, line: pos?.line, col: pos?.col });
    }
    const positions = new PositionTable(file);
    const state: WalkState = { file, doc, lines, positions, tags: new Map(), aliasVisits: 0, expanding: new Set(), anchors: fast?.anchors ?? collectAnchors(doc) };
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) {
      out.push({ tree: {}, positions, tags: state.tags });
      continue;
    }
    if (!isMap(root)) {
      const pos = locate(state, root);
      throw new TscError('ERR_COMPOSE_YAML', 'top-level object must be a mapping', { file, line: pos.line, col: pos.col });
    }
    positions.set('', locate(state, root));
    const tree = toValue(state, root, '', false);
    out.push({ tree: tree === RESET ? {} : (tree as ComposeTree), positions, tags: state.tags });
  }
  return out.length === 0 ? [emptyDocument(file)] : out;
}

function collectAnchors(doc: Document): Map<string, Array<{ start: number; node: Node }>> {
  const anchors = new Map<string, Array<{ start: number; node: Node }>>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node) || node.anchor === undefined) return;
      const list = anchors.get(node.anchor) ?? [];
      list.push({ start: node.range?.[0] ?? 0, node });
      anchors.set(node.anchor, list);
    },
  });
  return anchors;
}

/** The node an alias names: the last node anchored with that name before the alias. */
function resolveAlias(state: WalkState, alias: Alias): Node | undefined {
  const at = alias.range?.[0] ?? 0;
  const list = state.anchors.get(alias.source) ?? [];
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

function locate(state: WalkState, node: Node | null | undefined): { file: string; line: number; col: number } {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = state.lines.linePos(offset);
  return { file: state.file, line, col };
}

function fail(state: WalkState, node: Node | null | undefined, path: string, message: string): TscError {
  const pos = locate(state, node);
  return new TscError('ERR_COMPOSE_YAML', message, { file: state.file, line: pos.line, col: pos.col, path });
}

/** The plain value of `node` at `path`; `viaAlias` counts visits against the alias budget. */
function toValue(state: WalkState, node: unknown, path: string, viaAlias: boolean): unknown {
  if (viaAlias && ++state.aliasVisits > MAX_ALIAS_NODE_VISITS) {
    throw fail(state, node as Node, path, `document too complex: aliases expand to more than ${MAX_ALIAS_NODE_VISITS} nodes`);
  }
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    const target = resolveAlias(state, node);
    if (target === undefined) throw fail(state, node, path, `unknown anchor "${node.source}"`);
    if (state.expanding.has(target)) throw fail(state, node, path, `alias *${node.source} refers to a node that contains it`);
    state.expanding.add(target);
    try {
      return toValue(state, target, path, true);
    } finally {
      state.expanding.delete(target);
    }
  }
  const tag = (node as Node).tag;
  if (tag === '!reset' || tag === '!override') {
    state.tags.set(path, tag === '!reset' ? 'reset' : 'override');
    if (tag === '!reset') return RESET;
  }
  if (isScalar(node)) {
    const untagged = tag === undefined || tag === '!reset' || tag === '!override';
    if (node.type === 'PLAIN' && untagged && typeof node.source === 'string') return resolvePlain(node.source);
    return scalarValue(node.value);
  }
  const anchored = (isSeq(node) || isMap(node)) && node.anchor !== undefined && !state.expanding.has(node);
  if (!anchored) return collectionValue(state, node, path, viaAlias);
  state.expanding.add(node);
  try {
    return collectionValue(state, node, path, viaAlias);
  } finally {
    state.expanding.delete(node);
  }
}

function collectionValue(state: WalkState, node: unknown, path: string, viaAlias: boolean): unknown {
  if (isSeq(node)) {
    return node.items
      .map((item, i) => {
        const p = next(path, i);
        state.positions.set(p, locate(state, item as Node));
        return toValue(state, item, p, viaAlias);
      })
      .filter((v) => v !== RESET);
  }
  if (isMap(node)) return mappingValue(state, node, path, viaAlias);
  throw fail(state, node as Node, path, 'unsupported YAML node');
}

const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)$/;
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
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
  if (/^[-+]?\.(inf|Inf|INF)$/.test(src)) return src.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(src)) return NaN;
  if (!/^[-+.0-9]/.test(src)) return src;
  const plain = src.replace(/_/g, '');
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
function mappingValue(state: WalkState, node: Node, path: string, viaAlias: boolean): Record<string, unknown> {
  if (!isMap(node)) throw new Error('mappingValue called on a non-mapping');
  // Merged mappings are walked first so that the positions of keys written here win.
  const merged: Record<string, unknown> = {};
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    if (!isMergeKey(keyNode)) continue;
    for (const source of mergeList(state, pair.value, path)) {
      const value = toValue(state, source, path, true);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw fail(state, keyNode, path, 'merge key "<<" expects a mapping or a sequence of mappings');
      }
      for (const [k, v] of Object.entries(value)) if (!Object.hasOwn(merged, k)) setKey(merged, k, v);
    }
  }
  const out: Record<string, unknown> = {};
  const reset = new Set<string>();
  const definedAt = new Map<string, number>();
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    if (isMergeKey(keyNode)) continue;
    const key = stringKey(state, keyNode, path);
    const keyPos = locate(state, keyNode);
    const first = definedAt.get(key);
    if (first !== undefined) {
      throw fail(state, keyNode, next(path, key), `mapping key "${key}" already defined at line ${first}`);
    }
    definedAt.set(key, keyPos.line);
    const p = next(path, key);
    state.positions.set(p, keyPos);
    const value = toValue(state, pair.value, p, viaAlias);
    if (value === RESET) reset.add(key);
    else setKey(out, key, value);
  }
  for (const [k, v] of Object.entries(merged)) if (!Object.hasOwn(out, k) && !reset.has(k)) setKey(out, k, v);
  return out;
}

function isMergeKey(keyNode: Node | null): boolean {
  return isScalar(keyNode) && keyNode.value === '<<' && keyNode.type === 'PLAIN';
}

/** What a `<<` key merges: one mapping (often an alias) or a sequence of them. */
function mergeList(state: WalkState, value: unknown, path: string): unknown[] {
  if (isSeq(value)) return value.items;
  if (isAlias(value)) {
    const target = resolveAlias(state, value);
    if (isSeq(target)) return target.items;
  }
  if (value === null || value === undefined) throw fail(state, null, path, 'merge key "<<" expects a mapping');
  return [value];
}

/** Keys are always strings in a compose tree: `80: x` has the key "80". */
function stringKey(state: WalkState, keyNode: Node | null, path: string): string {
  if (keyNode === null) return 'null';
  let node: unknown = keyNode;
  if (isAlias(node)) node = resolveAlias(state, node);
  if (isScalar(node)) {
    const v = node.value;
    return v === null || v === undefined ? 'null' : String(v);
  }
  throw fail(state, keyNode, path, 'mapping keys must be scalars (strings, numbers or booleans)');
}

