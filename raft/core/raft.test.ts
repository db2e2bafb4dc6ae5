/**
 * The rules beyond the paper's core: pre-vote, check-quorum, leadership transfer, ReadIndex,
 * learners and membership changes, flow control, fast log backtracking, proposal limits, and
 * the Ready contract (durable state before the messages that depend on it).
 */
import { describe, expect, it } from 'vitest';
import { TscError } from '../../lib/errors.js';
import { entriesWithTerms, logTerms, nodeWithLog } from '../testing/log-builder.js';
import { Network, handleReady, newTestNode } from '../testing/network.js';
import { MemoryStorage } from '../storage.js';
import { type ConfChange, message } from './types.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function cluster(ids: number[] = [1, 2, 3], opts = {}): Network {
  const nw = new Network(ids, opts);
  nw.campaign(1);
  expect(nw.core(1).raft.state).toBe('leader');
  return nw;
}

describe('pre-vote and check-quorum', () => {
  it('a partitioned node does not raise its term, and rejoining does not disturb the leader (pre-vote)', () => {
    const nw = cluster();
    nw.isolate(3);
    nw.tickAll(100);
    expect(nw.core(3).raft.term).toBe(1);
    expect(nw.core(3).raft.state).toBe('preCandidate');
    nw.recover();
    nw.tickAll(5);
    expect(nw.leader()).toBe(1);
    expect(nw.core(1).raft.term).toBe(1);
    expect(nw.core(3).raft.lead).toBe(1);
  });

  it('without pre-vote the same partition makes the node bump its term on every timeout', () => {
    const nw = cluster([1, 2, 3], { preVote: false });
    nw.isolate(3);
    nw.tickAll(100);
    expect(nw.core(3).raft.term).toBeGreaterThan(3);
  });

  it('a leader that cannot hear from a quorum steps down within an election timeout (check-quorum)', () => {
    const nw = cluster();
    nw.isolate(1);
    nw.tick(1, 10);
    expect(nw.core(1).raft.state).toBe('leader');
    nw.tick(1, 11);
    expect(nw.core(1).raft.state).toBe('follower');
  });

  it('a follower that heard from its leader recently ignores vote requests (leader lease)', () => {
    const nw = cluster([1, 2, 3], { preVote: false });
    const n2 = nw.node(2);
    n2.core.step(message({ type: 'MsgVote', from: 3, to: 2, term: 5, index: 9, logTerm: 9 }));
    expect(n2.core.raft.term).toBe(1);
    expect(handleReady(n2).some((m) => m.type === 'MsgVoteResp')).toBe(false);
  });
});

describe('leadership transfer', () => {
  it('hands leadership to an up-to-date follower at once', () => {
    const nw = cluster();
    nw.act(1, (c) => c.transferLeader(2));
    expect(nw.leader()).toBe(2);
    expect(nw.core(1).raft.state).toBe('follower');
    expect(nw.core(2).raft.term).toBe(2);
  });

  it('catches a lagging transferee up first, then hands over', () => {
    const nw = cluster();
    nw.isolate(3);
    nw.propose(1, 'a');
    nw.propose(1, 'b');
    nw.recover();
    nw.act(1, (c) => c.transferLeader(3));
    expect(nw.leader()).toBe(3);
    expect(nw.appliedData(3)).toEqual(['a', 'b']);
  });

  it('drops proposals while a transfer is in progress, and gives up after an election timeout', () => {
    const nw = cluster();
    nw.isolate(3);
    nw.act(1, (c) => c.transferLeader(3));
    expect(nw.core(1).raft.leadTransferee).toBe(3);
    expect(() => nw.core(1).propose(enc('x'))).toThrow(TscError);
    nw.tick(1, 10);
    expect(nw.core(1).raft.leadTransferee).toBe(0);
    expect(nw.core(1).raft.state).toBe('leader');
    nw.propose(1, 'after');
    expect(nw.appliedData(2)).toEqual(['after']);
  });

  it('a follower forwards a transfer request to the leader', () => {
    const nw = cluster();
    nw.act(3, (c) => c.transferLeader(3));
    expect(nw.leader()).toBe(3);
  });
});

describe('ReadIndex', () => {
  it('the leader answers with its commit index once a quorum confirms its leadership', () => {
    const nw = cluster();
    nw.propose(1, 'x');
    nw.act(1, (c) => c.readIndex(enc('req-1')));
    const rs = nw.node(1).readStates;
    expect(rs.map((r) => [r.index, new TextDecoder().decode(r.requestCtx)])).toEqual([[2, 'req-1']]);
  });

  it('a follower forwards the request and gets the leader\'s index back', () => {
    const nw = cluster();
    nw.propose(1, 'x');
    nw.act(2, (c) => c.readIndex(enc('req-2')));
    expect(nw.node(2).readStates.map((r) => r.index)).toEqual([2]);
  });

  it('a leader cut off from the quorum never answers', () => {
    const nw = cluster();
    nw.isolate(1);
    nw.act(1, (c) => c.readIndex(enc('req-3')));
    nw.tick(1, 5);
    expect(nw.node(1).readStates).toEqual([]);
  });

  it('a new leader waits until an entry of its own term commits before answering', () => {
    const n = nodeWithLog(1, [1, 2, 3], [1, 1], { term: 1, commit: 1 });
    n.core.campaign();
    handleReady(n);
    for (const id of [2, 3]) n.core.step(message({ type: 'MsgPreVoteResp', from: id, to: 1, term: 2 }));
    for (const id of [2, 3]) n.core.step(message({ type: 'MsgVoteResp', from: id, to: 1, term: 2 }));
    expect(n.core.raft.state).toBe('leader');
    handleReady(n);
    n.core.readIndex(enc('early'));
    expect(handleReady(n).some((m) => m.type === 'MsgHeartbeat')).toBe(false);
    n.core.step(message({ type: 'MsgAppResp', from: 2, to: 1, term: 2, index: 3 }));
    const beats = handleReady(n).filter((m) => m.type === 'MsgHeartbeat');
    expect(beats.length).toBe(2);
    n.core.step(message({ type: 'MsgHeartbeatResp', from: 2, to: 1, term: 2, context: beats[0]?.context }));
    handleReady(n);
    expect(n.readStates.map((r) => r.index)).toEqual([3]);
  });

  it('a one-voter leader also waits for an entry of its term before answering (its commit may lag after a crash)', () => {
    const n = newTestNode(1, [1]);
    n.core.campaign();
    n.core.readIndex(enc('solo'));
    expect(n.core.raft.readStates).toEqual([]);
    handleReady(n); // persists the leader's first entry; it commits
    handleReady(n);
    expect(n.readStates.map((r) => [r.index, new TextDecoder().decode(r.requestCtx)])).toEqual([[1, 'solo']]);
  });

  it('lease-based reads need check-quorum', () => {
    expect(() => newTestNode(1, [1], { readOnlyOption: 'leaseBased', checkQuorum: false })).toThrow(/leaseBased/);
  });
});

describe('membership', () => {
  const cc = (changes: ConfChange['changes'], transition: ConfChange['transition'] = 'auto'): ConfChange => ({ transition, changes });

  it('a learner receives the log but never votes or campaigns, until promoted', () => {
    const nw = cluster();
    nw.add(newTestNode(4, [1, 2, 3]));
    nw.act(1, (c) => c.proposeConfChange(cc([{ type: 'addLearner', nodeId: 4 }])));
    nw.propose(1, 'x');
    nw.tickAll(3);
    expect(nw.appliedData(4)).toEqual(['x']);
    expect(nw.core(4).raft.isLearner).toBe(true);
    nw.tick(4, 50);
    expect(nw.core(4).raft.state).toBe('follower');
    expect(nw.core(1).status().progress?.get(4)?.isLearner).toBe(true);
    nw.act(1, (c) => c.proposeConfChange(cc([{ type: 'addNode', nodeId: 4 }])));
    nw.tickAll(2);
    expect(nw.core(4).raft.isLearner).toBe(false);
    expect(nw.core(1).status().config.voters).toEqual([1, 2, 3, 4]);
  });

  it('refuses a second change while one is unapplied (it becomes an empty entry)', () => {
    const nw = cluster();
    nw.cut(1, 2);
    nw.cut(1, 3);
    nw.act(1, (c) => c.proposeConfChange(cc([{ type: 'addLearner', nodeId: 4 }])));
    nw.act(1, (c) => c.proposeConfChange(cc([{ type: 'addLearner', nodeId: 5 }])));
    const ents = nw.core(1).raft.raftLog.allEntries();
    expect(ents.map((e) => e.type)).toEqual(['normal', 'confChange', 'normal']);
  });

  it('a new leader does not accept a change until its own first entry is applied (the single-server fix)', () => {
    const nw = cluster();
    expect(nw.core(1).raft.pendingConfIndex).toBe(0);
    const n = nodeWithLog(1, [1, 2, 3], [1, 1], { term: 1, commit: 0 });
    n.core.campaign();
    for (const id of [2, 3]) n.core.step(message({ type: 'MsgPreVoteResp', from: id, to: 1, term: 2 }));
    for (const id of [2, 3]) n.core.step(message({ type: 'MsgVoteResp', from: id, to: 1, term: 2 }));
    expect(n.core.raft.pendingConfIndex).toBe(2);
    n.core.proposeConfChange(cc([{ type: 'addNode', nodeId: 4 }]));
    expect(n.core.raft.raftLog.allEntries().map((e) => e.type)).toEqual(['normal', 'normal', 'normal', 'normal']);
  });

  it('joint consensus: several changes enter a joint config that the leader leaves by itself', () => {
    const nw = cluster();
    for (const id of [4, 5]) nw.add(newTestNode(id, [1, 2, 3]));
    nw.act(1, (c) =>
      c.proposeConfChange(cc([
        { type: 'addNode', nodeId: 4 },
        { type: 'addNode', nodeId: 5 },
        { type: 'removeNode', nodeId: 2 },
      ])),
    );
    nw.tickAll(5);
    for (const id of [1, 3, 4, 5]) {
      expect(nw.core(id).status().config).toMatchObject({ voters: [1, 3, 4, 5], votersOutgoing: [], autoLeave: false });
    }
    nw.propose(1, 'after');
    expect(nw.appliedData(5)).toEqual(['after']);
  });

  it('an explicit joint config stays joint until an empty change leaves it', () => {
    const nw = cluster();
    nw.add(newTestNode(4, [1, 2, 3]));
    nw.act(1, (c) => c.proposeConfChange(cc([{ type: 'addNode', nodeId: 4 }], 'explicit')));
    nw.tickAll(3);
    expect(nw.core(1).status().config.votersOutgoing).toEqual([1, 2, 3]);
    nw.act(1, (c) => c.proposeConfChange(cc([])));
    nw.tickAll(3);
    expect(nw.core(1).status().config).toMatchObject({ voters: [1, 2, 3, 4], votersOutgoing: [] });
  });

  it('a removed leader hands leadership to a remaining voter instead of stranding it', () => {
    const nw = cluster();
    nw.act(1, (c) => c.proposeConfChange(cc([{ type: 'removeNode', nodeId: 1 }])));
    nw.tickAll(5);
    const leader = nw.leader();
    expect([2, 3]).toContain(leader);
    expect(nw.core(leader).status().config.voters).toEqual([2, 3]);
    nw.propose(leader, 'without-1');
    expect(nw.appliedData(2)).toContain('without-1');
  });

  it('a node with a committed but unapplied conf change does not campaign', () => {
    const n = newTestNode(1, [1, 2, 3]);
    n.core.step(
      message({
        type: 'MsgApp', from: 2, to: 1, term: 1, index: 0, logTerm: 0, commit: 1,
        entries: [{ index: 1, term: 1, type: 'confChange', data: enc(JSON.stringify(cc([{ type: 'addNode', nodeId: 4 }]))) }],
      }),
    );
    n.core.ready(); // taken but not yet applied
    n.core.campaign();
    expect(n.core.raft.state).toBe('follower');
  });
});

describe('replication flow', () => {
  it('pipelines at most maxInflightMsgs appends to a follower until acknowledged', () => {
    const nw = cluster([1, 2, 3], { maxInflightMsgs: 2 });
    nw.ignore('MsgAppResp');
    for (let i = 0; i < 5; i++) nw.core(1).propose(enc(`p${i}`));
    const rd = handleReady(nw.node(1));
    expect(rd.filter((m) => m.type === 'MsgApp' && m.to === 2).length).toBeLessThanOrEqual(2);
    nw.recover();
    nw.send(rd);
    nw.tickAll(3);
    expect(nw.appliedData(2)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('keeps MsgApp under maxSizePerMsg (at least one entry each)', () => {
    const nw = cluster([1, 2, 3], { maxSizePerMsg: 100 });
    nw.isolate(2);
    for (let i = 0; i < 10; i++) nw.propose(1, 'x'.repeat(40));
    nw.recover();
    const before = nw.log.length;
    nw.tickAll(3);
    const apps = nw.log.slice(before).filter((m) => m.type === 'MsgApp' && m.to === 2 && m.entries.length > 0);
    expect(apps.every((m) => m.entries.length <= 2)).toBe(true);
    expect(nw.appliedData(2).length).toBe(10);
  });

  it('backtracks a long divergent follower log by whole terms, not one entry per round trip', () => {
    const leaderTerms = [1, ...Array<number>(30).fill(2), ...Array<number>(30).fill(4)];
    const followerTerms = [1, ...Array<number>(60).fill(3)];
    const nw = new Network([]);
    nw.add(nodeWithLog(1, [1, 2, 3], leaderTerms, { term: 4 }));
    nw.add(nodeWithLog(2, [1, 2, 3], followerTerms, { term: 4 }));
    nw.add(nodeWithLog(3, [1, 2, 3], leaderTerms, { term: 4 }));
    nw.campaign(1);
    const rejects = nw.log.filter((m) => m.type === 'MsgAppResp' && m.from === 2 && m.reject).length;
    expect(rejects).toBeLessThanOrEqual(3);
    expect(logTerms(nw.node(2))).toEqual(logTerms(nw.node(1)));
  });

  it('sends a snapshot to a follower that needs compacted entries', () => {
    const nw = cluster();
    nw.isolate(3);
    for (let i = 0; i < 5; i++) nw.propose(1, `e${i}`);
    const leader = nw.node(1);
    const applied = leader.applied[leader.applied.length - 1]?.index ?? 0;
    leader.storage.createSnapshot(applied, leader.core.status().config, enc('state'));
    leader.storage.compact(applied);
    nw.recover();
    nw.tickAll(3);
    expect(nw.log.some((m) => m.type === 'MsgSnap' && m.to === 3)).toBe(true);
    expect(nw.node(3).storage.snapshot().metadata.index).toBe(applied);
    nw.propose(1, 'after');
    expect(nw.appliedData(3)).toEqual(['after']);
  });

  it('drops proposals past the uncommitted size limit', () => {
    const nw = cluster([1, 2, 3], { maxUncommittedEntriesSize: 100 });
    nw.isolate(1);
    nw.core(1).propose(enc('x'.repeat(60)));
    nw.core(1).propose(enc('x'.repeat(30)));
    expect(() => nw.core(1).propose(enc('x'.repeat(30)))).toThrow(/dropped/);
  });
});

describe('bootstrap', () => {
  it('writes the membership into the log so that a node joining later can replay it', () => {
    const nw = new Network([]);
    for (const id of [1, 2, 3]) {
      const n = newTestNode(id, [], {}, new MemoryStorage());
      n.core.bootstrap([1, 2, 3]);
      nw.add(n);
    }
    nw.send();
    nw.campaign(1);
    expect(nw.leader()).toBe(1);
    // Node 4 starts with nothing at all: no membership, no log.
    nw.add(newTestNode(4, [], {}, new MemoryStorage()));
    nw.act(1, (c) => c.proposeConfChange({ transition: 'auto', changes: [{ type: 'addLearner', nodeId: 4 }] }));
    nw.propose(1, 'x');
    nw.tickAll(3);
    expect(nw.core(4).status().config).toMatchObject({ voters: [1, 2, 3], learners: [4] });
    expect(nw.appliedData(4)).toEqual(['x']);
    expect(() => nw.core(4).bootstrap([4])).toThrow(/nonempty/);
  });
});

describe('the Ready contract', () => {
  it('a vote leaves only together with the hard state that records it', () => {
    const n = newTestNode(2, [1, 2, 3], { preVote: false });
    n.core.step(message({ type: 'MsgVote', from: 1, to: 2, term: 1 }));
    const rd = n.core.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(rd.mustSync).toBe(true);
    expect(rd.messages.map((m) => m.type)).toEqual(['MsgVoteResp']);
    n.core.advance();
  });

  it('an append ack leaves together with the entries it acknowledges', () => {
    const n = newTestNode(2, [1, 2, 3]);
    n.core.step(message({ type: 'MsgApp', from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: entriesWithTerms([1, 1]) }));
    const rd = n.core.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd.messages[0]).toMatchObject({ type: 'MsgAppResp', index: 2 });
    n.core.advance();
  });

  it('a leader counts its own entries only once they are persisted (one voter: no commit before the disk write)', () => {
    const n = newTestNode(1, [1]);
    n.core.campaign();
    handleReady(n);
    handleReady(n);
    const committed = n.core.raft.raftLog.committed;
    n.core.propose(enc('x'));
    const rd = n.core.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([committed + 1]);
    // Not committed yet: a crash now would lose the entry, so nobody may consider it committed.
    expect(n.core.raft.raftLog.committed).toBe(committed);
    expect(rd.committedEntries).toEqual([]);
    n.storage.append(rd.entries);
    n.core.advance();
    expect(n.core.raft.raftLog.committed).toBe(committed + 1);
    expect(n.core.ready().committedEntries.map((e) => e.index)).toEqual([committed + 1]);
    n.core.advance();
  });

  it('a pipelining leader (advance without persisting) counts its own copy only at persisted(), and goes on sending meanwhile', () => {
    const n = newTestNode(1, [1]);
    n.core.campaign();
    handleReady(n);
    handleReady(n);
    const committed = n.core.raft.raftLog.committed;
    n.core.propose(enc('x'));
    const rd1 = n.core.ready();
    n.storage.append(rd1.entries);
    n.core.advance({ persisted: false });
    // Handed to storage but not durable: a one-voter leader must not commit it yet.
    expect(n.core.raft.raftLog.committed).toBe(committed);
    n.core.propose(enc('y'));
    const rd2 = n.core.ready();
    expect(rd2.entries.map((e) => e.index)).toEqual([committed + 2]);
    n.storage.append(rd2.entries);
    n.core.advance({ persisted: false });
    expect(n.core.raft.raftLog.committed).toBe(committed);
    const first = rd1.entries[0];
    if (first === undefined) throw new Error('no entry');
    n.core.persisted(first.index, first.term);
    expect(n.core.raft.raftLog.committed).toBe(committed + 1);
    const last = rd2.entries[0];
    if (last === undefined) throw new Error('no entry');
    n.core.persisted(last.index, last.term);
    expect(n.core.raft.raftLog.committed).toBe(committed + 2);
  });

  it('a pipelining leader of three commits on two followers\' acks before its own write is durable', () => {
    const nw = cluster();
    const leader = nw.core(1);
    const before = leader.raft.raftLog.committed;
    leader.propose(enc('x'));
    const rd = leader.ready();
    const e = rd.entries[0];
    if (e === undefined) throw new Error('no entry');
    nw.node(1).storage.append(rd.entries);
    leader.advance({ persisted: false });
    const apps = rd.messages.filter((m) => m.type === 'MsgApp');
    expect(apps.map((m) => m.to).sort()).toEqual([2, 3]);
    leader.step(message({ type: 'MsgAppResp', from: 2, to: 1, term: leader.raft.term, index: e.index }));
    // One follower and a leader copy that is not durable are not a majority.
    expect(leader.raft.raftLog.committed).toBe(before);
    leader.step(message({ type: 'MsgAppResp', from: 3, to: 1, term: leader.raft.term, index: e.index }));
    expect(leader.raft.raftLog.committed).toBe(e.index);
    // A late persisted() for a leader that has stepped down changes nothing.
    leader.step(message({ type: 'MsgApp', from: 2, to: 1, term: leader.raft.term + 1, index: e.index, logTerm: e.term, commit: e.index }));
    expect(leader.raft.state).toBe('follower');
    leader.persisted(e.index, e.term);
    expect(leader.raft.raftLog.committed).toBe(e.index);
  });

  it('a batch of proposals is one append per follower, in order, and a dropped batch takes none', () => {
    const nw = cluster();
    const leader = nw.core(1);
    const last = leader.raft.raftLog.lastIndex();
    leader.proposeBatch([enc('a'), enc('b'), enc('c')]);
    const rd = leader.ready();
    expect(rd.entries.map((e) => [e.index, new TextDecoder().decode(e.data)])).toEqual([
      [last + 1, 'a'],
      [last + 2, 'b'],
      [last + 3, 'c'],
    ]);
    const apps = rd.messages.filter((m) => m.type === 'MsgApp');
    expect(apps.map((m) => [m.to, m.entries.length]).sort()).toEqual([
      [2, 3],
      [3, 3],
    ]);
    nw.node(1).storage.append(rd.entries);
    leader.advance();
    const follower = nw.core(2);
    expect(() => follower.proposeBatch([enc('x')])).not.toThrow(); // forwarded to the leader
    leader.transferLeader(2);
    expect(() => leader.proposeBatch([enc('d'), enc('e')])).toThrow(/proposal dropped/);
    expect(leader.raft.raftLog.lastIndex()).toBe(last + 3);
  });

  it('refuses ready() twice without advance(), and local messages through step()', () => {
    const n = newTestNode(1, [1]);
    n.core.campaign();
    n.core.ready();
    expect(() => n.core.ready()).toThrow(/before advance/);
    expect(() => n.core.step(message({ type: 'MsgHup' }))).toThrow(/local message/);
  });

  it('rejects a bad configuration with the key named', () => {
    expect(() => newTestNode(1, [1], { electionTick: 1, heartbeatTick: 1 })).toThrow(/electionTick/);
    expect(() => newTestNode(0, [1])).toThrow(/raft config id/);
  });
});
