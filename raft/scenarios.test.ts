/**
 * Operational scenarios from etcd's and swarmkit's test lists, on an in-process network:
 * leader down, follower down, quorum loss and recovery, rejoin with wiped state, staggered
 * restart, slow follower after compaction. Each checks what an operator would: a leader
 * exists, writes succeed (or are refused), and every member ends with the same applied data.
 */
import { describe, expect, it } from 'vitest';
import { TscError } from '../lib/errors.js';
import { MemoryStorage } from './storage.js';
import { Network, type TestNode, newTestNode } from './testing/network.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function start(ids: number[]): Network {
  const nw = new Network(ids);
  nw.campaign(1);
  expect(nw.leader()).toBe(1);
  return nw;
}

function bringBack(nw: Network, n: TestNode): void {
  nw.add(n);
  nw.restart(n.id);
}

function tickUntil(nw: Network, cond: () => boolean, max = 200): void {
  for (let i = 0; i < max && !cond(); i++) nw.tickAll(1);
  expect(cond()).toBe(true);
}

function compactLeader(nw: Network, id: number): number {
  const n = nw.node(id);
  const applied = n.applied[n.applied.length - 1]?.index ?? 0;
  n.storage.createSnapshot(applied, n.core.status().config, enc(`state@${applied}`));
  n.storage.compact(applied);
  return applied;
}

describe('scenarios', () => {
  it('leader down: the others elect a new leader and keep committing; the old one rejoins as follower', () => {
    const nw = start([1, 2, 3, 4, 5]);
    nw.propose(1, 'before');
    const old = nw.stop(1);
    tickUntil(nw, () => nw.leader() !== 0);
    const leader = nw.leader();
    nw.propose(leader, 'after');
    bringBack(nw, old);
    nw.tickAll(5);
    expect(nw.core(1).raft.state).toBe('follower');
    expect(nw.core(1).raft.lead).toBe(leader);
    for (const id of [1, 2, 3, 4, 5]) expect(nw.appliedData(id)).toEqual(['before', 'after']);
  });

  it('follower down: the cluster keeps committing and the follower catches up when back', () => {
    const nw = start([1, 2, 3]);
    const f = nw.stop(3);
    for (let i = 0; i < 5; i++) nw.propose(1, `w${i}`);
    expect(nw.appliedData(2)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    bringBack(nw, f);
    nw.tickAll(3);
    expect(nw.appliedData(3)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    expect(nw.leader()).toBe(1);
  });

  it('quorum loss: writes stop and the leader steps down; recovery: a leader again and writes resume', () => {
    const nw = start([1, 2, 3]);
    nw.propose(1, 'committed');
    const down2 = nw.stop(2);
    const down3 = nw.stop(3);
    nw.propose(1, 'stuck');
    expect(nw.appliedData(1)).toEqual(['committed']);
    nw.tickAll(25);
    expect(nw.core(1).raft.state).not.toBe('leader');
    expect(() => nw.core(1).propose(enc('refused'))).toThrow(TscError);
    bringBack(nw, down2);
    bringBack(nw, down3);
    tickUntil(nw, () => nw.leader() !== 0);
    nw.propose(nw.leader(), 'recovered');
    const data = nw.appliedData(1);
    expect(data[0]).toBe('committed');
    expect(data[data.length - 1]).toBe('recovered');
    for (const id of [2, 3]) expect(nw.appliedData(id)).toEqual(data);
  });

  it('rejoin with wiped state: the member is removed and re-added under a new id, and catches up by snapshot', () => {
    const nw = start([1, 2, 3]);
    for (let i = 0; i < 5; i++) nw.propose(1, `w${i}`);
    nw.stop(3); // its disk is gone
    nw.act(1, (c) => c.proposeConfChange({ transition: 'auto', changes: [{ type: 'removeNode', nodeId: 3 }] }));
    nw.tickAll(2);
    expect(nw.core(1).status().config.voters).toEqual([1, 2]);
    const snapIndex = compactLeader(nw, 1);
    // A fresh node with an empty disk, added as a learner and then promoted.
    nw.add(newTestNode(4, [], {}, new MemoryStorage()));
    nw.act(1, (c) => c.proposeConfChange({ transition: 'auto', changes: [{ type: 'addLearner', nodeId: 4 }] }));
    // The leader's snapshot predates the change: take a new one that lists the learner.
    nw.tickAll(2);
    compactLeader(nw, 1);
    nw.tickAll(5);
    expect(nw.node(4).storage.snapshot().metadata.index).toBeGreaterThan(snapIndex);
    nw.act(1, (c) => c.proposeConfChange({ transition: 'auto', changes: [{ type: 'addNode', nodeId: 4 }] }));
    nw.propose(1, 'after');
    nw.tickAll(3);
    expect(nw.core(1).status().config.voters).toEqual([1, 2, 4]);
    expect(nw.appliedData(4)).toContain('after');
  });

  it('staggered restart: after a full outage no leader until a quorum is back, and nothing committed is lost', () => {
    const nw = start([1, 2, 3]);
    for (let i = 0; i < 3; i++) nw.propose(1, `w${i}`);
    const down = [nw.stop(1), nw.stop(2), nw.stop(3)];
    bringBack(nw, down[2] as TestNode);
    nw.tickAll(60);
    expect(nw.leader()).toBe(0);
    bringBack(nw, down[0] as TestNode);
    tickUntil(nw, () => nw.leader() !== 0);
    bringBack(nw, down[1] as TestNode);
    nw.propose(nw.leader(), 'w3');
    nw.tickAll(3);
    for (const id of [1, 2, 3]) expect(nw.appliedData(id)).toEqual(['w0', 'w1', 'w2', 'w3']);
  });

  it('slow follower after compaction: it gets the snapshot, then the entries after it', () => {
    const nw = start([1, 2, 3]);
    nw.isolate(3);
    for (let i = 0; i < 50; i++) nw.propose(1, `w${i}`);
    const snapIndex = compactLeader(nw, 1);
    nw.propose(1, 'tail');
    nw.recover();
    nw.tickAll(5);
    const f = nw.node(3);
    expect(f.storage.snapshot().metadata.index).toBe(snapIndex);
    expect(nw.log.filter((m) => m.type === 'MsgSnap' && m.to === 3).length).toBe(1);
    // Entries in the snapshot are not applied one by one; the ones after it are.
    expect(nw.appliedData(3)).toEqual(['tail']);
    expect(f.core.raft.raftLog.committed).toBe(nw.core(1).raft.raftLog.committed);
  });
});
