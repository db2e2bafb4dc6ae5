/**
 * The YAML node `parse.ts` turns into plain trees: one small shape for every node, with its
 * position already resolved. `fast-yaml.ts` builds these directly; a document the `yaml`
 * package parsed is converted to them, so that one walk gives both the same trees, positions
 * and errors.
 */

export type YamlNodeKind = 'scalar' | 'map' | 'seq' | 'alias' | 'other';

export interface YamlNode {
  kind: YamlNodeKind;
  /** Offset of the node's first character (aliases resolve to the last anchor before them). */
  start: number;
  /** 1-based line and column of `start`. */
  line: number;
  col: number;
  anchor: string | undefined;
  tag: string | undefined;
  /**
   * Scalar: the source text of a plain, untagged (or `!reset`/`!override`) scalar, resolved as
   * go-yaml resolves it; undefined for any other scalar.
   */
  plain: string | undefined;
  /** Scalar: its value as read (the key text of a mapping key). Alias: the anchor name. */
  raw: unknown;
  /** A plain `<<` key. */
  merge: boolean;
  /** Sequence items; mapping keys (parallel to `values`). */
  items: Array<YamlNode | null> | undefined;
  values: Array<YamlNode | null> | undefined;
}

export function yamlNode(kind: YamlNodeKind, start: number, line: number, col: number): YamlNode {
  return { kind, start, line, col, anchor: undefined, tag: undefined, plain: undefined, raw: null, merge: false, items: undefined, values: undefined };
}

/** Anchored nodes by name, sorted by where they start (what aliases are looked up in). */
export type AnchorIndex = Map<string, Array<{ start: number; node: YamlNode }>>;
