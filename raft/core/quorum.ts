/**
 * Quorum arithmetic, kept apart from everything else so it can be checked against a naive
 * version on random inputs (quorum.test.ts). A majority configuration is a set of voter ids;
 * a joint configuration is two of them, and a decision needs both halves.
 */

export type MajorityConfig = ReadonlySet<number>;
/** [incoming, outgoing]; the outgoing half is empty unless the configuration is joint. */
export type JointConfig = readonly [MajorityConfig, MajorityConfig];

export type VoteResult = 'pending' | 'lost' | 'won';

/** What each voter is known to have acknowledged (its match index). */
export type AckedIndexer = (id: number) => number | undefined;

/** An index larger than any log: an empty half of a joint config never holds a commit back. */
export const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * The largest index acknowledged by a majority: sort the voters' match indexes (missing = 0)
 * and take the one that a majority has reached.
 */
export function majorityCommittedIndex(c: MajorityConfig, acked: AckedIndexer): number {
  const n = c.size;
  if (n === 0) return NO_LIMIT;
  const srt: number[] = [];
  for (const id of c) srt.push(acked(id) ?? 0);
  srt.sort((a, b) => a - b);
  // The element at n - quorum has a quorum of values at or above it.
  return srt[n - (Math.floor(n / 2) + 1)] as number;
}

/**
 * Won once a majority granted, lost once a majority can no longer grant, pending otherwise. An
 * empty configuration wins (it never blocks the other half of a joint config).
 */
export function majorityVoteResult(c: MajorityConfig, votes: ReadonlyMap<number, boolean>): VoteResult {
  if (c.size === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of c) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(c.size / 2) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}

export function jointCommittedIndex(c: JointConfig, acked: AckedIndexer): number {
  return Math.min(majorityCommittedIndex(c[0], acked), majorityCommittedIndex(c[1], acked));
}

export function jointVoteResult(c: JointConfig, votes: ReadonlyMap<number, boolean>): VoteResult {
  const r1 = majorityVoteResult(c[0], votes);
  const r2 = majorityVoteResult(c[1], votes);
  if (r1 === r2) return r1;
  if (r1 === 'lost' || r2 === 'lost') return 'lost';
  return 'pending';
}

export function jointIds(c: JointConfig): Set<number> {
  return new Set([...c[0], ...c[1]]);
}

export function isJoint(c: JointConfig): boolean {
  return c[1].size > 0;
}

export function formatMajority(c: MajorityConfig): string {
  return `(${[...c].sort((a, b) => a - b).join(' ')})`;
}

export function formatJoint(c: JointConfig): string {
  return isJoint(c) ? `${formatMajority(c[0])}&&${formatMajority(c[1])}` : formatMajority(c[0]);
}
