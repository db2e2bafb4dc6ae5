/**
 * Thousands of seeded fault schedules through the simulator, each checking the safety
 * invariants after every step and liveness at the end.
 *
 *   RAFT_SEEDS=100000 npx vitest run raft/sim   more seeds (default 2000)
 *   RAFT_SEED_FROM=5000                          start elsewhere
 *   RAFT_SEED=1234 npx vitest run raft/sim       replay one seed with a trace of every event
 */
import { describe, expect, it } from 'vitest';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { Simulation, runSeed } from './simulation.js';

const one = process.env['RAFT_SEED'];
const count = Number(process.env['RAFT_SEEDS'] ?? 2000);
const from = Number(process.env['RAFT_SEED_FROM'] ?? 1);
const CHUNK = 250;

describe('raft simulator', () => {
  if (one !== undefined) {
    it(`replays seed ${one}`, () => {
      const lines: string[] = [];
      try {
        runSeed({ seed: Number(one), trace: (l) => lines.push(l) });
      } finally {
        console.log(lines.join('\n'));
      }
    });
    return;
  }

  for (let start = from; start < from + count; start += CHUNK) {
    const end = Math.min(start + CHUNK, from + count);
    it(`seeds ${start}..${end - 1} keep every invariant and converge`, { timeout: 600_000 }, () => {
      let committed = 0;
      let crashes = 0;
      let snapshots = 0;
      let confChanges = 0;
      let kvOps = 0;
      for (let seed = start; seed < end; seed++) {
        const st = runSeed({ seed });
        kvOps += st.kvOps;
        committed += st.committed;
        crashes += st.crashes;
        snapshots += st.snapshotsSent;
        confChanges += st.confChanges;
      }
      // The schedules must actually exercise the protocol, not idle.
      expect(committed).toBeGreaterThan((end - start) * 20);
      expect(crashes).toBeGreaterThan(0);
      expect(snapshots).toBeGreaterThan(0);
      expect(confChanges).toBeGreaterThan(0);
      expect(kvOps).toBeGreaterThan((end - start) * 10);
    });
  }

  it('the linearizability check fails when reads skip ReadIndex (the check has teeth)', () => {
    let failures = 0;
    for (let seed = 1; seed <= 20; seed++) {
      try {
        runSeed({ seed, unsafeLocalReads: true });
      } catch (e) {
        if (String((e as Error).message).includes('linearizability')) failures++;
        else throw e;
      }
    }
    expect(failures).toBeGreaterThan(10);
  });

  it('a pipelining leader that counts its own copy before its write is durable is caught (the check has teeth)', () => {
    // Seeds where, with this bug, a crash loses an entry already counted as committed (found
    // by running seeds 1..3000 with the bug; without it they pass like every other seed).
    const failures = [625, 835, 1843, 2349].filter((seed) => {
      try {
        runSeed({ seed, unsafeEarlySelfCount: true });
        return false;
      } catch (e) {
        return String((e as Error).message).includes('leader completeness');
      }
    });
    expect(failures.length).toBeGreaterThanOrEqual(3);
  });

  it('is deterministic: the same seed gives the same run', () => {
    const a = new Simulation({ seed: 42 }).run();
    const b = new Simulation({ seed: 42 }).run();
    expect(a).toEqual(b);
  });
});

describe('invariant checker', () => {
  it('catches two leaders in one term', () => {
    const c = new InvariantChecker();
    c.leader(1, 3, () => undefined, 1, 0);
    expect(() => c.leader(2, 3, () => undefined, 1, 0)).toThrow(InvariantViolation);
  });

  it('catches two different histories applied at one index', () => {
    const c = new InvariantChecker();
    c.applied(1, 5, 111);
    expect(() => c.applied(2, 5, 222)).toThrow(/state machine safety/);
  });

  it('catches a leader missing a committed entry', () => {
    const c = new InvariantChecker();
    c.committedRange(1, 2, 0, 3, () => 2);
    expect(() => c.leader(2, 3, () => 2, 1, 2)).toThrow(/leader completeness/);
  });

  it('catches entries with the same index and term but different predecessors', () => {
    const c = new InvariantChecker();
    const e = { index: 4, term: 2, type: 'normal' as const, data: new Uint8Array([1]) };
    c.persisted(1, [e], () => 1);
    expect(() => c.persisted(2, [e], () => 2)).toThrow(/log matching/);
  });

  it('catches a vote changed within a term', () => {
    const c = new InvariantChecker();
    c.hardState(1, { term: 2, vote: 1, commit: 0 });
    expect(() => c.hardState(1, { term: 2, vote: 3, commit: 0 })).toThrow(/voted/);
  });
});
