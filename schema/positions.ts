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

export class PositionTable {
  private readonly byPath = new Map<string, Position>();
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

  set(path: string, pos: Position): void {
    this.byPath.set(path, pos);
  }

  get(path: string): Position | undefined {
    return this.byPath.get(path) ?? this.under?.get(path);
  }

  /** The position of `path`, or of its nearest ancestor that has one. */
  nearest(path: string): Position | undefined {
    for (let p = path; ; p = parent(p)) {
      const pos = this.get(p);
      if (pos !== undefined) return pos;
      if (p === '') return undefined;
    }
  }

  /** Copy every entry of `other` in, replacing entries at the same path (the override wins). */
  absorb(other: PositionTable): void {
    for (const [k, v] of other.entries()) this.byPath.set(k, v);
  }

  entries(): IterableIterator<[string, Position]> {
    if (this.under === undefined) return this.byPath.entries();
    const all = new Map(this.under.entries());
    for (const [k, v] of this.byPath) all.set(k, v);
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
