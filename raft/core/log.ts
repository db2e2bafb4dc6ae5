/**
 * The Raft log as the core sees it: durable entries in storage, then the unstable tail, with
 * the commit and applied cursors. Invariant: applied <= committed <= lastIndex, and committed
 * entries are never truncated (breaking it throws with the numbers).
 */
import { type LogStorage, StorageError, isStorageError, limitSize } from '../storage.js';
import { Unstable } from './unstable.js';
import type { Entry, Snapshot } from './types.js';

export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;
  /** Last index handed out for applying in a Ready not yet advanced (>= applied). */
  applying: number;

  constructor(
    readonly storage: LogStorage,
    /** Bytes of committed entries handed out in one Ready. */
    readonly maxNextEntsSize: number = Number.MAX_SAFE_INTEGER,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // Everything up to the snapshot is committed and applied.
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = this.applied;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, unstable.offset=${this.unstable.offset}, len(unstable.entries)=${this.unstable.entries.length}`;
  }

  /**
   * Appends `ents` after (index, logTerm) if our log has that entry. Returns the index of the
   * last new entry, or undefined when the logs do not match there.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      }
      const offset = index + 1;
      if (ci - offset > ents.length) throw new Error(`index, ${ci - offset}, is out of range [${ents.length}]`);
      this.append(ents.slice(ci - offset));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = (ents[0] as Entry).index - 1;
    if (after < this.committed) {
      throw new Error(`after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry that is new or conflicts with ours (same index, other term);
   * 0 if all of them are already in our log.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const ne of ents) {
      if (!this.matchTerm(ne.index, ne.term)) return ne.index;
    }
    return 0;
  }

  /**
   * The largest (index, term) at or below `index` whose term is <= `term`: where our log may
   * agree with a log whose entry at `index` has `term`. Used to skip whole terms on a reject
   * instead of probing one index per round trip. A compacted index returns term 0 (unknown).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      let ourTerm: number;
      try {
        ourTerm = this.term(index);
      } catch (e) {
        if (e instanceof StorageError) return { index, term: 0 };
        throw e;
      }
      if (ourTerm <= term) return { index, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  /** Committed entries not yet applied. */
  nextEnts(): Entry[] {
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntsSize);
    return [];
  }

  hasNextEnts(): boolean {
    const off = Math.max(this.applied + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      if (this.lastIndex() < toCommit) {
        throw new Error(
          `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
        );
      }
      this.committed = toCommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (this.committed < i || i < this.applied) {
      throw new Error(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
    this.applying = Math.max(this.applying, i);
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * Term of entry i, for i in [firstIndex-1, lastIndex] (the entry before the first is
   * compacted but its term is kept for matching). Outside that range it throws
   * StorageError 'compacted' or 'unavailable': a missing entry must never match a term, not
   * even term 0.
   */
  term(i: number): number {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex()) throw new StorageError('compacted');
    if (i > this.lastIndex()) throw new StorageError('unavailable');
    return this.storage.term(i);
  }

  /**
   * Like term() but a missing entry reads as 0 (no real term is 0, so nothing matches it).
   * Checks the range first: a follower asks this of every new entry it receives, and building
   * a StorageError (with its stack) each time was a visible share of its CPU.
   */
  termOrZero(i: number): number {
    return this.maybeTerm(i) ?? 0;
  }

  /** term(), or undefined for an entry outside the log (checked first: no exception built). */
  private maybeTerm(i: number): number | undefined {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof StorageError) return undefined;
      throw e;
    }
  }

  entries(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  allEntries(): Entry[] {
    for (;;) {
      try {
        return this.entries(this.firstIndex(), Number.MAX_SAFE_INTEGER);
      } catch (e) {
        // Compaction raced with us; try again.
        if (!isStorageError(e, 'compacted')) throw e;
      }
    }
  }

  /**
   * Whether a log ending at (lastIndex, term) is at least as up to date as ours (section 5.4.1:
   * later last term wins; same term, the longer log).
   */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    return this.maybeTerm(i) === term;
  }

  /** The commit rule: advance only to an entry of the leader's current term (section 5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi) up to maxSize bytes (at least one). Throws StorageError('compacted'). */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const off = this.unstable.offset;
    if (lo < off) {
      const upper = Math.min(hi, off);
      const stored = this.storage.entries(lo, upper, maxSize);
      if (stored.length < upper - lo) return stored;
      ents = stored;
    }
    if (hi > off) {
      const u = this.unstable.slice(Math.max(lo, off), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSize);
  }

  private mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) throw new Error(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new StorageError('compacted');
    const length = this.lastIndex() + 1 - fi;
    if (hi > fi + length) throw new Error(`slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
  }
}
