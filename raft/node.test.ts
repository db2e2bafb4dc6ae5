import { cpSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfState, Message } from './core/types.js';
import { RaftNode, type StateMachine } from './node.js';
import { Wal } from './storage/wal.js';
import { untilValue } from '../test/support/poll.js';

/** A register of strings: apply appends, the result is the applied index. */
class Log implements StateMachine {
  items: string[] = [];
  apply(data: Uint8Array, index: number): unknown {
    this.items.push(Buffer.from(data).toString());
    return index;
  }
  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = JSON.parse(Buffer.from(data).toString()) as string[];
  }
}

/** Delivers messages between nodes of this process on the next turn; `down` ones get nothing. */
class Wire {
  nodes = new Map<number, RaftNode>();
  down = new Set<number>();
  transport(from: number): { send(msgs: Message[]): void } {
    return {
      send: (msgs) => {
        for (const m of msgs) {
          setImmediate(() => {
            const to = this.nodes.get(m.to);
            const sender = this.nodes.get(from);
            const ok = to !== undefined && !this.down.has(m.to) && !this.down.has(from);
            if (ok) to.step(m);
            if (m.type === 'MsgSnap') sender?.reportSnapshot(m.to, ok ? 'finish' : 'failure');
            else if (!ok) sender?.reportUnreachable(m.to);
          });
        }
      },
    };
  }
}

let dir: string;
let wire: Wire;
const sms = new Map<number, Log>();
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-node-'));
  wire = new Wire();
  sms.clear();
});
afterEach(async () => {
  for (const n of wire.nodes.values()) await n.stop();
  await rm(dir, { recursive: true, force: true });
});

async function startNode(id: number, peers: number[], extra: { snapshotEvery?: number; keepEntries?: number } = {}): Promise<RaftNode> {
  const sm = new Log();
  sms.set(id, sm);
  const n = await RaftNode.start({
    id,
    dir: join(dir, `n${id}`),
    peers,
    stateMachine: sm,
    transport: wire.transport(id),
    tickMs: 10,
    electionTick: 10,
    ...extra,
  });
  wire.nodes.set(id, n);
  return n;
}

function leaderOf(): RaftNode | undefined {
  return [...wire.nodes.values()].find((n) => n.status().role === 'leader' && !wire.down.has(n.status().id));
}

describe('RaftNode over durable storage', () => {
  it('elects a leader, applies proposals everywhere, and serves linearizable reads', async () => {
    for (const id of [1, 2, 3]) await startNode(id, [1, 2, 3]);
    const leader = await untilValue('a leader', leaderOf);
    const results = await Promise.all(['a', 'b', 'c'].map((v) => leader.propose(Buffer.from(v))));
    expect(new Set(results).size).toBe(3); // three distinct applied indexes
    for (const id of [1, 2, 3]) await untilValue(`node ${id} applied`, () => sms.get(id)?.items.length === 3);
    expect(sms.get(1)?.items.sort()).toEqual(['a', 'b', 'c']);
    const follower = [...wire.nodes.values()].find((n) => n !== leader) as RaftNode;
    const readAt = await follower.readBarrier();
    expect(readAt).toBeGreaterThanOrEqual(Math.max(...(results as number[])));
    expect(follower.status().applied).toBeGreaterThanOrEqual(readAt);
    expect(leader.status().voters).toEqual([1, 2, 3]);
  });

  it('a node restarted from its data dir keeps its log and state, and a lagging one catches up by snapshot', async () => {
    for (const id of [1, 2, 3]) await startNode(id, [1, 2, 3], { snapshotEvery: 5, keepEntries: 2 });
    const leader = await untilValue('a leader', leaderOf);
    const lagging = [1, 2, 3].find((id) => id !== leader.status().id) as number;
    await wire.nodes.get(lagging)?.stop();
    wire.nodes.delete(lagging);
    for (let i = 0; i < 20; i++) await leader.propose(Buffer.from(`v${i}`));
    await untilValue('a snapshot on the leader', () => leader.status().snapshotIndex > 10);
    // Snapshots are written in the background; the older ones are deleted after each.
    await untilValue('two snapshot files kept', () => readdirSync(join(dir, `n${leader.status().id}`, 'snap')).filter((n) => n.endsWith('.snap')).length <= 2);
    // The restarted node's log was compacted away on the leader: it must be sent a snapshot.
    await startNode(lagging, [1, 2, 3], { snapshotEvery: 5, keepEntries: 2 });
    await untilValue('the lagging node caught up', () => sms.get(lagging)?.items.length === 20);
    expect(sms.get(lagging)?.items).toEqual(sms.get(leader.status().id)?.items);
    expect(wire.nodes.get(lagging)?.status().snapshotIndex).toBeGreaterThan(0);

    // Restart everyone from disk: the state machines come back from snapshot + WAL.
    const before = leader.status().commit;
    for (const n of wire.nodes.values()) await n.stop();
    wire.nodes.clear();
    for (const id of [1, 2, 3]) await startNode(id, []);
    for (const id of [1, 2, 3]) await untilValue(`node ${id} re-applied`, () => sms.get(id)?.items.length === 20);
    const again = await untilValue('a new leader', leaderOf);
    expect(again.status().commit).toBeGreaterThanOrEqual(before);
    await again.propose(Buffer.from('after'));
    expect(sms.get(again.status().id)?.items.at(-1)).toBe('after');
  });

  it('fails proposals without a quorum, adds a member with a conf change, and stops cleanly', async () => {
    for (const id of [1, 2, 3]) await startNode(id, [1, 2, 3]);
    const leader = await untilValue('a leader', leaderOf);
    await leader.propose(Buffer.from('x'));
    await startNode(4, []);
    const cs = (await leader.proposeConfChange({ transition: 'auto', changes: [{ type: 'addNode', nodeId: 4 }] })) as { voters: number[] };
    expect(cs.voters).toEqual([1, 2, 3, 4]);
    await untilValue('node 4 applied the log', () => sms.get(4)?.items.includes('x'));
    expect(wire.nodes.get(4)?.status().voters).toEqual([1, 2, 3, 4]);
    // Cut the leader off: its proposal cannot commit and fails instead of hanging.
    const others = [1, 2, 3, 4].filter((id) => id !== leader.status().id);
    for (const id of others) wire.down.add(id);
    await expect(leader.propose(Buffer.from('lost'))).rejects.toThrow(/raft:/);
    await leader.stop();
    await expect(leader.propose(Buffer.from('late'))).rejects.toThrow(/stopped/);
  });

  it('adds a learner that catches up without voting, promotes it to voter, and hands it leadership', async () => {
    for (const id of [1, 2, 3]) await startNode(id, [1, 2, 3]);
    const leader = await untilValue('a leader', leaderOf);
    for (let i = 0; i < 5; i++) await leader.propose(Buffer.from(`v${i}`));
    const n4 = await startNode(4, []);
    const asLearner = (await leader.proposeConfChange({ transition: 'auto', changes: [{ type: 'addLearner', nodeId: 4 }] })) as ConfState;
    expect(asLearner.voters).toEqual([1, 2, 3]);
    expect(asLearner.learners).toEqual([4]);
    await untilValue('learner 4 caught up', () => sms.get(4)?.items.length === 5);
    expect(n4.status().learners).toEqual([4]);
    expect(n4.status().role).toBe('follower');
    const promoted = (await leader.proposeConfChange({ transition: 'auto', changes: [{ type: 'addNode', nodeId: 4 }] })) as ConfState;
    expect(promoted.voters).toEqual([1, 2, 3, 4]);
    expect(promoted.learners).toEqual([]);
    await untilValue('node 4 knows it is a voter', () => n4.status().voters.includes(4));
    leader.transferLeadership(4);
    await untilValue('node 4 leads', () => n4.status().role === 'leader');
    await untilValue('the old leader follows', () => leader.status().leader === 4);
    await n4.propose(Buffer.from('after'));
    for (const id of [1, 2, 3, 4]) await untilValue(`node ${id} applied the new leader's entry`, () => sms.get(id)?.items.includes('after'));
  });

  it('writes entries and votes to the WAL before the acks and votes that promise them leave', async () => {
    // Every vote granted and every append acked by a follower is checked against a copy of the
    // sender's WAL taken at the moment the message is handed to the transport.
    const checks: Promise<string | undefined>[] = [];
    let copies = 0;
    const check = (from: number, m: Message): void => {
      const granted = (m.type === 'MsgVoteResp' && !m.reject) || (m.type === 'MsgAppResp' && !m.reject);
      if (!granted) return;
      const copy = join(dir, `copy-${copies++}`);
      cpSync(join(dir, `n${from}`, 'wal'), copy, { recursive: true });
      checks.push(
        Wal.open(copy).then(async ({ wal, state }) => {
          await wal.close();
          const last = state.entries.at(-1)?.index ?? state.snapshot.index;
          if (m.type === 'MsgVoteResp' && (state.hardState.term < m.term || state.hardState.vote !== m.to)) {
            return `node ${from} granted a vote in term ${m.term} before persisting it (${JSON.stringify(state.hardState)})`;
          }
          if (m.type === 'MsgAppResp' && last < m.index) return `node ${from} acked index ${m.index} with only ${last} in its WAL`;
          return undefined;
        }),
      );
    };
    const inner = wire.transport.bind(wire);
    wire.transport = (from: number) => {
      const t = inner(from);
      return { send: (msgs: Message[]) => {
        for (const m of msgs) check(from, m);
        t.send(msgs);
      } };
    };
    for (const id of [1, 2, 3]) await startNode(id, [1, 2, 3]);
    const leader = await untilValue('a leader', leaderOf);
    for (let i = 0; i < 10; i++) await leader.propose(Buffer.from(`p${i}`));
    expect(checks.length).toBeGreaterThanOrEqual(10);
    expect((await Promise.all(checks)).filter((x) => x !== undefined)).toEqual([]);
  });
});
