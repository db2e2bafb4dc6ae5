/**
 * Where each key of a compose tree came from. The parser records `path → {file, line, col}`
 * before YAML nodes become plain values; merge carries the table so that the winning key keeps
 * its own position; every phase looks errors up here so that messages say where.
 */
import { TscError, type TscErrorCode } from '../lib/errors.js';
import { parent } from './tree-path.js';

export interface Position {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
}

/**
 * A position in the table's own file, packed into one small integer (`line * 65536 + col`):
 * a large project has a position for each of tens of thousands of keys, and an object for each
 * was a good part of the parser's allocations.
 */
type Packed = number;
const COL_RANGE = 65536;
const MAX_PACKED_LINE = 32767;

export class PositionTable {
  /**
   * Entries as the parser records them: path and packed position side by side, in order, made
   * into `byPath` only when something looks one up. A project that loads without an error is
   * never looked up in, and hashing a path string per key was a good part of `config`'s time.
   */
  private pendingPaths: string[] = [];
  private pendingPositions: Array<Position | Packed> = [];
  private readonly byPath = new Map<string, Position | Packed>();
  /** Renamed paths (a list item that became a mapping key): new path → the path it was. */
  private readonly renamed: Array<readonly [string, string]> = [];
  private renamedByPath: Map<string, string> | undefined;
  /**
   * `defaultFile`: the file for paths that have no entry of their own (e.g. the whole
   * document). `under`: a table whose entries this one has too, unless it sets its own (what
   * a merge starts from, instead of a copy of every key of a large project); it must not
   * change afterwards.
   */
  constructor(
    readonly defaultFile?: string,
    private readonly under?: PositionTable,
  ) {}

  /** Every entry recorded so far, in `byPath` (later ones win, as with Map.set). */
  private table(): Map<string, Position | Packed> {
    const paths = this.pendingPaths;
    if (paths.length > 0) {
      const values = this.pendingPositions;
      for (let i = 0; i < paths.length; i++) this.byPath.set(paths[i] as string, values[i] as Position | Packed);
      this.pendingPaths = [];
      this.pendingPositions = [];
    }
    return this.byPath;
  }

  set(path: string, pos: Position): void {
    this.pendingPaths.push(path);
    this.pendingPositions.push(pos);
  }

  /** `set(path, {file: defaultFile, line, col})`, stored without an object. */
  setAt(path: string, line: number, col: number): void {
    this.pendingPaths.push(path);
    this.pendingPositions.push(this.defaultFile === undefined || line > MAX_PACKED_LINE || col >= COL_RANGE ? { file: this.defaultFile ?? '', line, col } : line * COL_RANGE + col);
  }

  /**
   * `newPath` is where `oldPath`'s value went (canonical forms turn list items into mapping
   * keys): it has `oldPath`'s position unless it has one of its own. Resolved on lookup.
   */
  alias(newPath: string, oldPath: string): void {
    if (newPath === oldPath) return;
    this.renamed.push([newPath, oldPath]);
    this.renamedByPath = undefined;
  }

  get(path: string): Position | undefined {
    return this.lookup(path, 0);
  }

  private lookup(path: string, depth: number): Position | undefined {
    const v = this.table().get(path);
    if (v !== undefined) return this.unpack(v);
    const below = this.under?.get(path);
    if (below !== undefined || this.renamed.length === 0 || depth > 64) return below;
    if (this.renamedByPath === undefined) {
      const m = new Map<string, string>();
      // the first alias of a path wins, as a second one found the position already there
      for (const [n, o] of this.renamed) if (!m.has(n)) m.set(n, o);
      this.renamedByPath = m;
    }
    const old = this.renamedByPath.get(path);
    return old === undefined ? undefined : this.lookup(old, depth + 1);
  }

  private unpack(v: Position | Packed): Position {
    if (typeof v !== 'number') return v;
    return { file: this.defaultFile as string, line: Math.floor(v / COL_RANGE), col: v % COL_RANGE };
  }

  /** The position of `path`, or of its nearest ancestor that has one. */
  nearest(path: string): Position | undefined {
    for (let p = path; ; p = parent(p)) {
      const pos = this.get(p);
      if (pos !== undefined) return pos;
      if (p === '') return undefined;
    }
  }

  /** Every path's own position (aliases resolved), under's first. */
  entries(): IterableIterator<[string, Position]> {
    const all = new Map<string, Position>(this.under === undefined ? [] : this.under.entries());
    for (const [k, v] of this.table()) all.set(k, this.unpack(v));
    for (const [n] of this.renamed) {
      if (all.has(n)) continue;
      const pos = this.get(n);
      if (pos !== undefined) all.set(n, pos);
    }
    return all.entries();
  }

  /** A TscError located at `path` (file, line and column of the nearest known key). */
  error(code: TscErrorCode, message: string, path: string, extra: { hint?: string; cause?: unknown } = {}): TscError {
    const pos = this.nearest(path);
    return new TscError(code, message, {
      file: pos?.file ?? this.defaultFile,
      line: pos?.line,
      col: pos?.col,
      path,
      hint: extra.hint,
      cause: extra.cause,
    });
  }
}
