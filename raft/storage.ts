/**
 * How the Raft core reads the durable log, and an in-memory implementation for tests and the
 * simulator. The core only ever reads through `LogStorage`; the application writes (append,
 * snapshot, compact) while handling a Ready, then calls advance().
 */
import {
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  emptyConfState,
  entrySize,
} from './core/types.js';

export type StorageErrorKind =
  /** The entries asked for were compacted into a snapshot. */
  | 'compacted'
  /** The entries asked for are not in storage (yet). */
  | 'unavailable'
  /** A snapshot older than the one already stored. */
  | 'snapOutOfDate'
  /** No snapshot now; the core will retry later. */
  | 'snapshotTemporarilyUnavailable';

/** The recoverable storage errors, matched on `kind` (etcd's ErrCompacted and friends). */
export class StorageError extends Error {
  constructor(
    readonly kind: StorageErrorKind,
    message = `raft storage: ${kind}`,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

export function isStorageError(e: unknown, kind: StorageErrorKind): boolean {
  return e instanceof StorageError && e.kind === kind;
}

export interface LogStorage {
  /** The saved HardState and the membership of the latest snapshot (or the bootstrap one). */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if any, at most `maxSize` bytes. Throws 'compacted'/'unavailable'. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of entry i, for i in [firstIndex()-1, lastIndex()]. Throws 'compacted'/'unavailable'. */
  term(i: number): number;
  /** Index of the first entry still available (the one after the snapshot). */
  firstIndex(): number;
  lastIndex(): number;
  /** The latest snapshot. Throws 'snapshotTemporarilyUnavailable' if it is being made. */
  snapshot(): Snapshot;
}

/** Keeps the first entries that fit in `maxSize` bytes, always at least one. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0] as Entry);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entrySize(ents[limit] as Entry);
    if (size > maxSize) break;
  }
  return limit === ents.length ? ents : ents.slice(0, limit);
}

/**
 * etcd's MemoryStorage. `ents[0]` is a dummy entry holding the index and term of the snapshot
 * (index 0 term 0 when there is none), so that term(firstIndex-1) is always known.
 */
export class MemoryStorage implements LogStorage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot;
  private ents: Entry[];

  /** `confState` bootstraps a new cluster's membership (as a zero-index snapshot would). */
  constructor(init: { confState?: ConfState } = {}) {
    this.snap = {
      metadata: { index: 0, term: 0, confState: init.confState ?? emptyConfState() },
      data: new Uint8Array(0),
    };
    this.ents = [{ index: 0, term: 0, type: 'normal', data: new Uint8Array(0) }];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = (this.ents[0] as Entry).index;
    if (lo <= offset) throw new StorageError('compacted');
    if (hi > this.lastIndex() + 1) {
      throw new Error(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    }
    if (this.ents.length === 1) throw new StorageError('unavailable');
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = (this.ents[0] as Entry).index;
    if (i < offset) throw new StorageError('compacted');
    if (i - offset >= this.ents.length) throw new StorageError('unavailable');
    return (this.ents[i - offset] as Entry).term;
  }

  lastIndex(): number {
    return (this.ents[0] as Entry).index + this.ents.length - 1;
  }

  firstIndex(): number {
    return (this.ents[0] as Entry).index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a received snapshot. */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) throw new StorageError('snapOutOfDate');
    this.snap = snap;
    this.ents = [{ index: snap.metadata.index, term: snap.metadata.term, type: 'normal', data: new Uint8Array(0) }];
  }

  /**
   * Makes a snapshot of the state at applied index `i` (the application supplies `data`); the
   * log is not compacted until compact() is called.
   */
  createSnapshot(i: number, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new StorageError('snapOutOfDate');
    const offset = (this.ents[0] as Entry).index;
    if (i > this.lastIndex()) {
      throw new Error(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    }
    this.snap = {
      metadata: {
        index: i,
        term: (this.ents[i - offset] as Entry).term,
        confState: confState ?? this.snap.metadata.confState,
      },
      data,
    };
    return this.snap;
  }

  /** Discards entries before `compactIndex`; the entry at it becomes the dummy. */
  compact(compactIndex: number): void {
    const offset = (this.ents[0] as Entry).index;
    if (compactIndex <= offset) throw new StorageError('compacted');
    if (compactIndex > this.lastIndex()) {
      throw new Error(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    }
    const i = compactIndex - offset;
    const head = this.ents[i] as Entry;
    this.ents = [{ index: head.index, term: head.term, type: 'normal', data: new Uint8Array(0) }, ...this.ents.slice(i + 1)];
  }

  /**
   * Drops the entries after `index`: what a crash loses of writes that were handed over but not
   * yet durable (the simulator's pipelined leader). Never below the snapshot.
   */
  truncateAfter(index: number): void {
    const offset = (this.ents[0] as Entry).index;
    if (index < offset) throw new Error(`truncate after ${index} is below the snapshot at ${offset}`);
    if (index < this.lastIndex()) this.ents = this.ents.slice(0, index - offset + 1);
  }

  /** Appends entries, truncating any conflicting suffix first (the new entries win). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const e0 = entries[0] as Entry;
    const last = e0.index + entries.length - 1;
    if (last < first) return;
    let ents = entries;
    if (first > e0.index) ents = entries.slice(first - e0.index);
    const offset = (ents[0] as Entry).index - (this.ents[0] as Entry).index;
    if (this.ents.length > offset) {
      this.ents = [...this.ents.slice(0, offset), ...ents];
    } else if (this.ents.length === offset) {
      for (const e of ents) this.ents.push(e);
    } else {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${(ents[0] as Entry).index}]`);
    }
  }
}
