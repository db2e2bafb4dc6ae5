/**
 * The quorum functions against deliberately naive versions on random inputs (etcd's
 * quorum/quick_test.go), plus the cases worth reading.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type VoteResult,
  NO_LIMIT,
  jointCommittedIndex,
  jointVoteResult,
  majorityCommittedIndex,
  majorityVoteResult,
} from './quorum.js';

/** The largest index such that a majority has acked at least it: tried one by one. */
function naiveCommitted(voters: number[], acked: Map<number, number>): number {
  if (voters.length === 0) return NO_LIMIT;
  let best = 0;
  for (const id of voters) {
    const idx = acked.get(id) ?? 0;
    const count = voters.filter((v) => (acked.get(v) ?? 0) >= idx).length;
    if (count > voters.length / 2 && idx > best) best = idx;
  }
  return best;
}

function naiveVote(voters: number[], votes: Map<number, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  const yes = voters.filter((v) => votes.get(v) === true).length;
  const no = voters.filter((v) => votes.get(v) === false).length;
  if (yes * 2 > voters.length) return 'won';
  if (no * 2 >= voters.length) return 'lost';
  return 'pending';
}

const voterSet = fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 7 });
const ackMap = fc.array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 20 })), { maxLength: 9 });
const voteMap = fc.array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.boolean()), { maxLength: 9 });

describe('quorum', () => {
  it('majority committed index matches the naive definition (50,000 random cases)', () => {
    fc.assert(
      fc.property(voterSet, ackMap, (voters, acks) => {
        const acked = new Map(acks);
        expect(majorityCommittedIndex(new Set(voters), (id) => acked.get(id))).toBe(naiveCommitted(voters, acked));
      }),
      { numRuns: 50_000 },
    );
  });

  it('majority vote result matches the naive definition', () => {
    fc.assert(
      fc.property(voterSet, voteMap, (voters, vs) => {
        const votes = new Map(vs);
        expect(majorityVoteResult(new Set(voters), votes)).toBe(naiveVote(voters, votes));
      }),
      { numRuns: 20_000 },
    );
  });

  it('a joint config commits only what both halves commit, and needs both to win', () => {
    fc.assert(
      fc.property(voterSet, voterSet, ackMap, voteMap, (a, b, acks, vs) => {
        const acked = new Map(acks);
        const c = [new Set(a), new Set(b)] as const;
        expect(jointCommittedIndex(c, (id) => acked.get(id))).toBe(
          Math.min(naiveCommitted(a, acked), naiveCommitted(b, acked)),
        );
        const votes = new Map(vs);
        const r1 = naiveVote(a, votes);
        const r2 = naiveVote(b, votes);
        const want = r1 === r2 ? r1 : r1 === 'lost' || r2 === 'lost' ? 'lost' : 'pending';
        expect(jointVoteResult(c, votes)).toBe(want);
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    { voters: [1, 2, 3], acked: { 1: 5, 2: 3, 3: 1 }, want: 3 },
    { voters: [1, 2, 3, 4], acked: { 1: 5, 2: 4, 3: 1, 4: 1 }, want: 1 },
    { voters: [1, 2, 3, 4, 5], acked: { 1: 9, 2: 9, 3: 2 }, want: 2 },
    { voters: [1], acked: { 1: 7 }, want: 7 },
  ])('committed index of $voters with acks $acked is $want', ({ voters, acked, want }) => {
    const m = new Map(Object.entries(acked).map(([k, v]) => [Number(k), v]));
    expect(majorityCommittedIndex(new Set(voters), (id) => m.get(id))).toBe(want);
  });

  it('an empty half never holds a joint decision back', () => {
    const c = [new Set([1, 2, 3]), new Set<number>()] as const;
    expect(jointCommittedIndex(c, () => 4)).toBe(4);
    expect(jointVoteResult(c, new Map([[1, true], [2, true]]))).toBe('won');
  });
});
