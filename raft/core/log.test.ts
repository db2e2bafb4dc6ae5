import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage.js';
import { entriesWithTerms } from '../testing/log-builder.js';
import { RaftLog } from './log.js';
import type { Entry } from './types.js';

function logWith(terms: number[]): RaftLog {
  const s = new MemoryStorage();
  s.append(entriesWithTerms(terms));
  return new RaftLog(s);
}

const ents = (from: number, terms: number[]): Entry[] =>
  terms.map((term, i) => ({ index: from + i, term, type: 'normal', data: new Uint8Array(0) }));

describe('raftLog', () => {
  it('appends after a matching entry and truncates conflicts', () => {
    const log = logWith([1, 2, 3]);
    expect(log.maybeAppend(1, 1, 0, ents(2, [4]))).toBe(2);
    expect(log.allEntries().map((e) => e.term)).toEqual([1, 4]);
  });

  it('refuses to append after an entry it does not have, or whose term differs', () => {
    const log = logWith([1, 2, 3]);
    expect(log.maybeAppend(3, 2, 0, ents(4, [3]))).toBeUndefined();
    expect(log.maybeAppend(5, 3, 0, ents(6, [3]))).toBeUndefined();
  });

  it('never matches a missing entry, not even with term 0', () => {
    const log = logWith([1, 1]);
    expect(log.matchTerm(5, 0)).toBe(false);
    expect(log.maybeAppend(5, 0, 5, [])).toBeUndefined();
  });

  it('ignores entries it already has (a duplicated or reordered MsgApp does not truncate)', () => {
    const log = logWith([1, 1, 1, 1]);
    expect(log.maybeAppend(0, 0, 0, ents(1, [1, 1]))).toBe(2);
    expect(log.lastIndex()).toBe(4);
  });

  it('commits up to the leader commit but not past the last new entry', () => {
    const log = logWith([1, 1, 1, 1]);
    log.maybeAppend(1, 1, 10, ents(2, [1]));
    expect(log.committed).toBe(2);
  });

  it('throws with the numbers when asked to truncate a committed entry', () => {
    const log = logWith([1, 1, 1]);
    log.commitTo(3);
    expect(() => log.maybeAppend(1, 1, 3, ents(2, [2]))).toThrow('entry 2 conflict with committed entry [committed(3)]');
    expect(() => log.commitTo(9)).toThrow(/tocommit\(9\) is out of range \[lastIndex\(3\)\]/);
  });

  it('finds the last index whose term is at most the given one (fast backtracking)', () => {
    const log = logWith([1, 1, 2, 2, 5, 5, 5]);
    expect(log.findConflictByTerm(7, 4)).toEqual({ index: 4, term: 2 });
    expect(log.findConflictByTerm(7, 5)).toEqual({ index: 7, term: 5 });
    expect(log.findConflictByTerm(7, 1)).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(7, 0)).toEqual({ index: 0, term: 0 });
  });

  it('compares logs by last term, then length (up to date, 5.4.1)', () => {
    const log = logWith([1, 2, 2]);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });

  it('hands out committed entries after applied, and unstable entries until they are stable', () => {
    const log = logWith([1, 1]);
    log.append(ents(3, [2, 2]));
    expect(log.unstableEntries().map((e) => e.index)).toEqual([3, 4]);
    log.commitTo(3);
    expect(log.nextEnts().map((e) => e.index)).toEqual([1, 2, 3]);
    log.appliedTo(3);
    expect(log.nextEnts()).toEqual([]);
    log.stableTo(4, 1); // wrong term: a stale Ready, ignored
    expect(log.unstableEntries().length).toBe(2);
    log.stableTo(4, 2);
    expect(log.unstableEntries()).toEqual([]);
  });
});
