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
  private readonly byPath = new Map<string, Position | Packed>();
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

  /** `set(path, {file: defaultFile, line, col})`, stored without an object. */
  setAt(path: string, line: number, col: number): void {
    if (this.defaultFile === undefined || line > MAX_PACKED_LINE || col >= COL_RANGE) {
      this.byPath.set(path, { file: this.defaultFile ?? '', line, col });
    } else {
      this.byPath.set(path, line * COL_RANGE + col);
    }
  }

  get(path: string): Position | undefined {
    const v = this.byPath.get(path);
    if (v === undefined) return this.under?.get(path);
    return this.unpack(v);
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

  /** Copy every entry of `other` in, replacing entries at the same path (the override wins). */
  absorb(other: PositionTable): void {
    for (const [k, v] of other.entries()) this.byPath.set(k, v);
  }

  entries(): IterableIterator<[string, Position]> {
    const all = new Map<string, Position>(this.under === undefined ? [] : this.under.entries());
    for (const [k, v] of this.byPath) all.set(k, this.unpack(v));
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
