/** Builds nodes whose log and term are set up for a test (the paper's figures). */
import { type NodeOptions, type TestNode, confStateOf, newTestNode } from './network.js';
import type { Entry } from '../core/types.js';
import { MemoryStorage } from '../storage.js';

/** Entries with the given terms at indexes 1, 2, ... carrying "i/t" as data. */
export function entriesWithTerms(terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({
    index: i + 1,
    term,
    type: 'normal' as const,
    data: new TextEncoder().encode(`${i + 1}/${term}`),
  }));
}

/** A node with the log `terms` already durable and hard state at `term` (commit 0, no vote). */
export function nodeWithLog(
  id: number,
  peers: number[],
  terms: readonly number[],
  opts: NodeOptions & { term?: number; vote?: number; commit?: number } = {},
): TestNode {
  const storage = new MemoryStorage({ confState: confStateOf(peers) });
  storage.append(entriesWithTerms(terms));
  const lastTerm = terms[terms.length - 1] ?? 0;
  storage.setHardState({ term: opts.term ?? lastTerm, vote: opts.vote ?? 0, commit: opts.commit ?? 0 });
  const { term: _t, vote: _v, commit: _c, ...rest } = opts;
  return newTestNode(id, peers, rest, storage);
}

export function logTerms(n: TestNode): number[] {
  const log = n.core.raft.raftLog;
  return log.allEntries().map((e) => e.term);
}
