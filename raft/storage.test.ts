import { describe, expect, it } from 'vitest';
import { MemoryStorage, StorageError } from './storage.js';
import { entriesWithTerms } from './testing/log-builder.js';
import { emptyConfState } from './core/types.js';

function storageWith(terms: number[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(entriesWithTerms(terms));
  return s;
}

describe('MemoryStorage', () => {
  it('answers entries, terms and bounds, and says compacted/unavailable outside them', () => {
    const s = storageWith([1, 1, 2, 3]);
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(4);
    expect(s.term(3)).toBe(2);
    expect(s.entries(2, 4, Infinity).map((e) => e.index)).toEqual([2, 3]);
    s.compact(2);
    expect(s.firstIndex()).toBe(3);
    expect(s.term(2)).toBe(1); // the term just before the first entry is kept
    expect(() => s.term(1)).toThrow(StorageError);
    expect(() => s.entries(2, 3, Infinity)).toThrow(/compacted/);
    expect(() => s.term(9)).toThrow(/unavailable/);
  });

  it('limits entries by size but always returns at least one', () => {
    const s = storageWith([1, 1, 1, 1]);
    expect(s.entries(1, 5, 0).length).toBe(1);
    expect(s.entries(1, 5, 60).length).toBe(2);
  });

  it('truncates a conflicting tail on append', () => {
    const s = storageWith([1, 1, 1, 1]);
    s.append([{ index: 3, term: 2, type: 'normal', data: new Uint8Array(0) }]);
    expect(s.lastIndex()).toBe(3);
    expect(s.term(3)).toBe(2);
    expect(() => s.append([{ index: 9, term: 2, type: 'normal', data: new Uint8Array(0) }])).toThrow(/missing log entry/);
  });

  it('creates snapshots, refuses older ones and restarts the log from an applied snapshot', () => {
    const s = storageWith([1, 2, 2]);
    const cs = { ...emptyConfState(), voters: [1, 2] };
    const snap = s.createSnapshot(2, cs, new Uint8Array([7]));
    expect(snap.metadata).toEqual({ index: 2, term: 2, confState: cs });
    expect(() => s.createSnapshot(1, cs, new Uint8Array(0))).toThrow(/snapOutOfDate/);
    const t = new MemoryStorage();
    t.applySnapshot(snap);
    expect(t.firstIndex()).toBe(3);
    expect(t.lastIndex()).toBe(2);
    expect(t.initialState().confState).toEqual(cs);
  });
});
