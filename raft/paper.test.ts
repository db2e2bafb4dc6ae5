/**
 * One test per claim of the Raft paper ("In Search of an Understandable Consensus Algorithm",
 * Ongaro and Ousterhout), as etcd's raft_paper_test.go. Each names its section. Pre-vote and
 * check-quorum are extensions outside the paper; tests turn them off where they would change
 * what the paper describes.
 */
import { describe, expect, it } from 'vitest';
import { type Message, message } from './core/types.js';
import { entriesWithTerms, logTerms, nodeWithLog } from './testing/log-builder.js';
import { Network, type NodeOptions, type TestNode, handleReady, newTestNode } from './testing/network.js';

const paper: NodeOptions = { preVote: false, checkQuorum: false };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function drain(n: TestNode): Message[] {
  return handleReady(n);
}

function becomeLeader(n: TestNode): Message[] {
  n.core.campaign();
  drain(n);
  const peers = n.core.raft.trk.voterIds().filter((id) => id !== n.id);
  for (const p of peers) {
    n.core.step(message({ type: 'MsgVoteResp', from: p, to: n.id, term: n.core.raft.term }));
  }
  return drain(n);
}

describe('5.1 server states and terms', () => {
  it('a server starts as a follower', () => {
    const n = newTestNode(1, [1, 2, 3]);
    expect(n.core.raft.state).toBe('follower');
    expect(n.core.raft.term).toBe(0);
  });

  it.each(['follower', 'candidate', 'leader'] as const)(
    'a %s that sees a larger term updates its term and becomes a follower',
    (role) => {
      const n = newTestNode(1, [1, 2, 3], paper);
      if (role === 'candidate') n.core.campaign();
      if (role === 'leader') becomeLeader(n);
      drain(n);
      const term = n.core.raft.term;
      n.core.step(message({ type: 'MsgApp', from: 2, to: 1, term: term + 5, index: 0, logTerm: 0 }));
      expect(n.core.raft.term).toBe(term + 5);
      expect(n.core.raft.state).toBe('follower');
      expect(n.core.raft.lead).toBe(2);
    },
  );

  it('a request with a stale term is rejected (not acted upon)', () => {
    const n = nodeWithLog(1, [1, 2, 3], [1, 2], { ...paper, term: 2 });
    n.core.step(message({ type: 'MsgApp', from: 2, to: 1, term: 1, index: 2, logTerm: 2, entries: entriesWithTerms([1, 2, 1]).slice(2), commit: 3 }));
    expect(n.core.raft.raftLog.lastIndex()).toBe(2);
    expect(n.core.raft.raftLog.committed).toBe(0);
    expect(n.core.raft.lead).toBe(0);
  });

  it('a stale leader learns the new term from the response and steps down', () => {
    const nw = new Network([1, 2, 3]);
    nw.campaign(1);
    nw.isolate(1);
    nw.tickAll(40);
    const newLeader = nw.leader() === 1 ? [...nw.nodes.values()].find((n) => n.id !== 1 && n.core.raft.state === 'leader')?.id : nw.leader();
    expect(newLeader === 2 || newLeader === 3).toBe(true);
    nw.recover();
    nw.tickAll(3);
    expect(nw.core(1).raft.state).toBe('follower');
    expect(nw.core(1).raft.term).toBe(nw.core(newLeader as number).raft.term);
  });
});

describe('5.2 leader election', () => {
  it('a leader sends heartbeats to every follower each heartbeat interval', () => {
    const n = newTestNode(1, [1, 2, 3], { ...paper, heartbeatTick: 1 });
    becomeLeader(n);
    n.core.tick();
    const beats = drain(n).filter((m) => m.type === 'MsgHeartbeat');
    expect(beats.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(beats.every((m) => m.term === n.core.raft.term)).toBe(true);
  });

  it.each(['follower', 'candidate'] as const)(
    'a %s that hears nothing for an election timeout starts an election: term+1, votes for itself, asks all',
    (role) => {
      const n = newTestNode(1, [1, 2, 3], paper);
      if (role === 'candidate') n.core.campaign();
      drain(n);
      const term = n.core.raft.term;
      for (let i = 0; i < 2 * 10; i++) n.core.tick();
      expect(n.core.raft.term).toBe(term + 1);
      expect(n.core.raft.state).toBe('candidate');
      expect(n.core.raft.vote).toBe(1);
      const votes = drain(n).filter((m) => m.type === 'MsgVote');
      expect(votes.map((m) => m.to).sort()).toEqual([2, 3]);
    },
  );

  it.each([
    { size: 1, grants: [], state: 'leader' },
    { size: 3, grants: [2], state: 'leader' },
    { size: 3, grants: [], state: 'candidate' },
    { size: 5, grants: [2, 3], state: 'leader' },
    { size: 5, grants: [2], state: 'candidate' },
  ])('a candidate wins with votes from a majority ($size nodes, grants $grants)', ({ size, grants, state }) => {
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const n = newTestNode(1, ids, paper);
    n.core.campaign();
    drain(n);
    for (const g of grants) n.core.step(message({ type: 'MsgVoteResp', from: g, to: 1, term: n.core.raft.term }));
    expect(n.core.raft.state).toBe(state);
  });

  it('a candidate loses once a majority rejects, and returns to follower', () => {
    const n = newTestNode(1, [1, 2, 3, 4, 5], paper);
    n.core.campaign();
    drain(n);
    for (const r of [2, 3, 4]) n.core.step(message({ type: 'MsgVoteResp', from: r, to: 1, term: 1, reject: true }));
    expect(n.core.raft.state).toBe('follower');
  });

  it('a follower votes for at most one candidate per term, first come first served', () => {
    const cases: { vote: number; from: number; reject: boolean }[] = [
      { vote: 0, from: 2, reject: false },
      { vote: 0, from: 3, reject: false },
      { vote: 2, from: 2, reject: false },
      { vote: 3, from: 3, reject: false },
      { vote: 2, from: 3, reject: true },
      { vote: 3, from: 2, reject: true },
    ];
    for (const c of cases) {
      const n = nodeWithLog(1, [1, 2, 3], [], { ...paper, term: 1, vote: c.vote });
      n.core.step(message({ type: 'MsgVote', from: c.from, to: 1, term: 1 }));
      const resp = drain(n).find((m) => m.type === 'MsgVoteResp');
      expect(resp?.reject, JSON.stringify(c)).toBe(c.reject);
    }
  });

  it('a candidate that hears from a leader of at least its term becomes a follower', () => {
    for (const term of [1, 2]) {
      const n = newTestNode(1, [1, 2, 3], paper);
      n.core.campaign();
      drain(n);
      n.core.step(message({ type: 'MsgApp', from: 2, to: 1, term, index: 0, logTerm: 0 }));
      expect(n.core.raft.state).toBe('follower');
      expect(n.core.raft.term).toBe(term);
    }
  });

  it('election timeouts are randomized over [timeout, 2*timeout)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const n = newTestNode(1, [1, 2, 3], { ...paper, rand: { intn: (k) => (seed * 7) % k } });
      let ticks = 0;
      while (n.core.raft.state === 'follower') {
        n.core.tick();
        ticks++;
      }
      seen.add(ticks);
    }
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...seen)).toBeLessThan(20);
    expect(seen.size).toBe(10);
  });

  it('randomized timeouts make split votes rare: most elections finish in one round', () => {
    let oneRound = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const nw = new Network([1, 2, 3, 4, 5], paper);
      for (const n of nw.nodes.values()) {
        nw.nodes.set(n.id, newTestNode(n.id, [1, 2, 3, 4, 5], { ...paper, rand: seeded(seed * 10 + n.id) }));
      }
      let ticks = 0;
      while (nw.leader() === 0 && ticks < 200) {
        nw.tickAll(1);
        ticks++;
      }
      if (nw.core(nw.leader()).raft.term === 1) oneRound++;
    }
    expect(oneRound).toBeGreaterThan(80);
  });
});

function seeded(seed: number): { intn(n: number): number } {
  let a = seed;
  return {
    intn: (n) => {
      a = (a * 1103515245 + 12345) % 2147483648;
      return a % n;
    },
  };
}

describe('5.3 log replication', () => {
  it('the leader appends a proposal to its log and sends AppendEntries to every follower', () => {
    const n = newTestNode(1, [1, 2, 3], paper);
    becomeLeader(n);
    // Followers acknowledge the leader's first (empty) entry and move to replicate state.
    for (const id of [2, 3]) n.core.step(message({ type: 'MsgAppResp', from: id, to: 1, term: 1, index: 1 }));
    drain(n);
    n.core.propose(enc('some data'));
    const apps = drain(n).filter((m) => m.type === 'MsgApp');
    expect(apps.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(apps[0]?.entries.map((e) => new TextDecoder().decode(e.data))).toContain('some data');
    expect(n.core.raft.raftLog.lastIndex()).toBe(2);
  });

  it('an entry is committed once a majority stored it; the leader then applies it and tells followers', () => {
    const n = newTestNode(1, [1, 2, 3], paper);
    becomeLeader(n);
    n.core.propose(enc('x'));
    drain(n);
    expect(n.core.raft.raftLog.committed).toBe(0);
    n.core.step(message({ type: 'MsgAppResp', from: 2, to: 1, term: 1, index: 2 }));
    expect(n.core.raft.raftLog.committed).toBe(2);
    const rd = n.core.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd.messages.filter((m) => m.type === 'MsgApp').every((m) => m.commit === 2)).toBe(true);
    n.core.advance();
  });

  it.each([
    { size: 1, acks: [], committed: true },
    { size: 3, acks: [], committed: false },
    { size: 3, acks: [2], committed: true },
    { size: 5, acks: [2], committed: false },
    { size: 5, acks: [2, 3], committed: true },
  ])('the leader commits with acknowledgements from a majority ($size nodes, acks $acks)', ({ size, acks, committed }) => {
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const n = newTestNode(1, ids, paper);
    becomeLeader(n);
    n.core.propose(enc('x'));
    drain(n);
    for (const a of acks) n.core.step(message({ type: 'MsgAppResp', from: a, to: 1, term: 1, index: 2 }));
    expect(n.core.raft.raftLog.committed >= 2).toBe(committed);
  });

  it('committing an entry commits all preceding entries, including those of earlier leaders', () => {
    const n = nodeWithLog(1, [1, 2, 3], [1, 1, 2], { ...paper, term: 2 });
    becomeLeader(n);
    n.core.propose(enc('x'));
    drain(n);
    const last = n.core.raft.raftLog.lastIndex();
    n.core.step(message({ type: 'MsgAppResp', from: 2, to: 1, term: 3, index: last }));
    expect(n.core.raft.raftLog.committed).toBe(last);
    const rd = n.core.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a follower applies entries once it learns they are committed', () => {
    const n = newTestNode(2, [1, 2, 3], paper);
    const ents = entriesWithTerms([1, 1, 1]);
    n.core.step(message({ type: 'MsgApp', from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: ents, commit: 2 }));
    const rd = n.core.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    n.core.advance();
  });

  it('a follower refuses entries that do not follow an entry it has (the consistency check)', () => {
    const cases = [
      { index: 0, logTerm: 0, reject: false },
      { index: 1, logTerm: 1, reject: false },
      { index: 2, logTerm: 2, reject: false },
      { index: 1, logTerm: 2, reject: true },
      { index: 3, logTerm: 3, reject: true },
    ];
    for (const c of cases) {
      const n = nodeWithLog(2, [1, 2, 3], [1, 2], { ...paper, term: 2, commit: 1 });
      n.core.step(message({ type: 'MsgApp', from: 1, to: 2, term: 2, index: c.index, logTerm: c.logTerm, commit: 1 }));
      const resp = drain(n).find((m) => m.type === 'MsgAppResp');
      expect(resp?.reject, JSON.stringify(c)).toBe(c.reject);
    }
  });

  it('a follower deletes conflicting entries and everything after them, then appends', () => {
    const cases: { index: number; logTerm: number; ents: number[]; want: number[] }[] = [
      { index: 2, logTerm: 2, ents: [3], want: [1, 2, 3] },
      { index: 1, logTerm: 1, ents: [3, 4], want: [1, 3, 4] },
      { index: 0, logTerm: 0, ents: [1], want: [1, 2] },
      { index: 0, logTerm: 0, ents: [3], want: [3] },
    ];
    for (const c of cases) {
      const n = nodeWithLog(2, [1, 2, 3], [1, 2], { ...paper, term: 2 });
      const ents = c.ents.map((term, i) => ({ index: c.index + 1 + i, term, type: 'normal' as const, data: new Uint8Array(0) }));
      n.core.step(message({ type: 'MsgApp', from: 1, to: 2, term: 4, index: c.index, logTerm: c.logTerm, entries: ents }));
      drain(n);
      expect(logTerms(n), JSON.stringify(c)).toEqual(c.want);
    }
  });

  // Figure 7: the leader's log and six possible follower logs (a)-(f).
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const figure7: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  it.each(Object.keys(figure7))('figure 7 (%s): the leader forces the follower log to duplicate its own', (k) => {
    const follower = figure7[k] as number[];
    const lead = nodeWithLog(1, [1, 2, 3], leaderLog, { ...paper, term: 8 });
    const f = nodeWithLog(2, [1, 2, 3], follower, { ...paper, term: 7 });
    // A third voter that has the leader's log lets the leader win without the follower.
    const other = nodeWithLog(3, [1, 2, 3], leaderLog, { ...paper, term: 7 });
    const nw = new Network([]);
    nw.add(lead);
    nw.add(f);
    nw.add(other);
    nw.campaign(1);
    expect(lead.core.raft.state).toBe('leader');
    nw.propose(1, 'after');
    expect(logTerms(f)).toEqual(logTerms(lead));
    expect(logTerms(lead).slice(0, 10)).toEqual(leaderLog);
  });
});

describe('5.4 safety', () => {
  it('a vote request carries the candidate\'s last log index and term', () => {
    const n = nodeWithLog(1, [1, 2, 3], [1, 2], { ...paper, term: 2 });
    n.core.campaign();
    const votes = drain(n).filter((m) => m.type === 'MsgVote');
    expect(votes.map((m) => [m.index, m.logTerm])).toEqual([
      [2, 2],
      [2, 2],
    ]);
  });

  it.each([
    // same last term: the longer (or equal) log wins the vote
    { ours: [1, 1], logTerm: 1, index: 3, reject: false },
    { ours: [1, 1], logTerm: 1, index: 2, reject: false },
    { ours: [1, 1], logTerm: 1, index: 1, reject: true },
    // a later last term wins even with a shorter log
    { ours: [1, 1], logTerm: 2, index: 1, reject: false },
    { ours: [2, 2], logTerm: 1, index: 3, reject: true },
  ])('a voter denies its vote to a candidate whose log is less up to date (5.4.1) %#', ({ ours, logTerm, index, reject }) => {
    const n = nodeWithLog(1, [1, 2, 3], ours, { ...paper, term: 2 });
    n.core.step(message({ type: 'MsgVote', from: 2, to: 1, term: 3, index, logTerm }));
    const resp = drain(n).find((m) => m.type === 'MsgVoteResp');
    expect(resp?.reject).toBe(reject);
  });

  it('a leader commits entries of earlier terms only by committing one of its own term (5.4.2)', () => {
    // Our log [1, 1, 2]: entries of terms 1 and 2; we lead in term 3.
    const n = nodeWithLog(1, [1, 2, 3], [1, 1, 2], { ...paper, term: 2 });
    becomeLeader(n);
    expect(n.core.raft.term).toBe(3);
    // A majority has index 3 (term 2): not enough, it is not from this term.
    n.core.step(message({ type: 'MsgAppResp', from: 2, to: 1, term: 3, index: 3 }));
    expect(n.core.raft.raftLog.committed).toBe(0);
    // Once our own empty entry at 4 (term 3) is on a majority, everything commits.
    n.core.step(message({ type: 'MsgAppResp', from: 2, to: 1, term: 3, index: 4 }));
    expect(n.core.raft.raftLog.committed).toBe(4);
  });

  // Figure 8, with S1..S5 as nodes 1..5 and the logs of the figure built directly.
  const all = [1, 2, 3, 4, 5];

  it('figure 8 (c): an old-term entry stored on a majority is not committed by counting', () => {
    const s1 = nodeWithLog(1, all, [1, 2], { ...paper, term: 3 });
    becomeLeader(s1); // term 4, log [1, 2, 4]
    expect(s1.core.raft.term).toBe(4);
    // S2 and S3 store index 2 (term 2): it is on S1, S2, S3, a majority.
    for (const id of [2, 3]) s1.core.step(message({ type: 'MsgAppResp', from: id, to: 1, term: 4, index: 2 }));
    expect(s1.core.raft.raftLog.committed).toBe(0);
  });

  it('figure 8 (d): that entry can then be overwritten by a leader with a later last term', () => {
    const nw = new Network([]);
    nw.add(nodeWithLog(2, all, [1, 2], { ...paper, term: 4 }));
    nw.add(nodeWithLog(3, all, [1, 2], { ...paper, term: 4 }));
    nw.add(nodeWithLog(4, all, [1], { ...paper, term: 4 }));
    nw.add(nodeWithLog(5, all, [1, 3], { ...paper, term: 4 }));
    // S1 is down. S5's last term (3) beats the others' (2 and 1): S2, S3 and S4 vote for it.
    nw.campaign(5);
    expect(nw.core(5).raft.state).toBe('leader');
    for (const id of [2, 3, 4, 5]) expect(logTerms(nw.node(id))).toEqual([1, 3, 5]);
    // The index-2 entry of term 2 was never applied anywhere; the one of term 3 is.
    for (const id of [2, 3, 4, 5]) expect(nw.node(id).applied.find((e) => e.index === 2)?.term).toBe(3);
  });

  it('figure 8 (e): once the leader commits an entry of its own term, the old entry is safe', () => {
    const nw = new Network([]);
    nw.add(nodeWithLog(2, all, [1, 2, 4], { ...paper, term: 4 }));
    nw.add(nodeWithLog(3, all, [1, 2, 4], { ...paper, term: 4 }));
    nw.add(nodeWithLog(4, all, [1], { ...paper, term: 4 }));
    nw.add(nodeWithLog(5, all, [1, 3], { ...paper, term: 4 }));
    // S5 can no longer win: S2 and S3 have a later last term (4) and refuse.
    nw.campaign(5);
    expect(nw.core(5).raft.state).not.toBe('leader');
    nw.campaign(2);
    expect(nw.core(2).raft.state).toBe('leader');
    expect(logTerms(nw.node(5)).slice(0, 3)).toEqual([1, 2, 4]);
  });
});
