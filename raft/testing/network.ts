/**
 * An in-process network of RaftCores for tests (etcd's raft_test.go `network`): each node has
 * a MemoryStorage; `send` delivers messages (and the messages they cause) until quiet, handling
 * every Ready in the documented order. Links can be cut, nodes isolated, message types dropped.
 */
import { RaftCore, type Ready } from '../core/raft-core.js';
import type { RaftConfig } from '../core/raft.js';
import { seededRand } from '../core/rand.js';
import { type ConfState, type Entry, type Message, type MessageType, decodeConfChange, emptyConfState } from '../core/types.js';
import { MemoryStorage } from '../storage.js';

export interface TestNode {
  id: number;
  core: RaftCore;
  storage: MemoryStorage;
  /** Every entry applied, in order. */
  applied: Entry[];
  readStates: Ready['readStates'];
}

export type NodeOptions = Partial<Omit<RaftConfig, 'id' | 'storage'>>;

export function confStateOf(voters: number[], learners: number[] = []): ConfState {
  return { ...emptyConfState(), voters, learners };
}

/**
 * A node over `storage`, or over a fresh one whose membership is `peers` (as etcd's tests do:
 * the membership sits in the storage's zero snapshot, so terms and indexes start at 0). A node
 * joining later is made with the cluster's initial `peers` and replays the changes from the log.
 */
export function newTestNode(id: number, peers: number[], opts: NodeOptions = {}, storage?: MemoryStorage): TestNode {
  const st = storage ?? new MemoryStorage({ confState: confStateOf(peers) });
  const core = new RaftCore({ id, storage: st, rand: seededRand(id), electionTick: 10, heartbeatTick: 1, ...opts });
  return { id, core, storage: st, applied: [], readStates: [] };
}

/** Handles one Ready: persist, collect messages, apply, advance. Returns the messages. */
export function handleReady(n: TestNode): Message[] {
  if (!n.core.hasReady()) return [];
  const rd = n.core.ready();
  if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
  n.storage.append(rd.entries);
  if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    n.applied.push(e);
    if (e.type === 'confChange') n.core.applyConfChange(decodeConfChange(e.data));
  }
  n.readStates.push(...rd.readStates);
  n.core.advance();
  return rd.messages;
}

export class Network {
  readonly nodes = new Map<number, TestNode>();
  private readonly dropped = new Set<string>();
  private readonly ignored = new Set<MessageType>();
  /** Messages that were delivered, for assertions. */
  readonly log: Message[] = [];
  /** Optional filter: return false to drop. */
  filter: ((m: Message) => boolean) | undefined;

  constructor(ids: number[], opts: NodeOptions = {}) {
    for (const id of ids) this.nodes.set(id, newTestNode(id, ids, opts));
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: number): RaftCore {
    return this.node(id).core;
  }

  add(n: TestNode): void {
    this.nodes.set(n.id, n);
  }

  /** Delivers messages until no node has anything more to say. */
  send(msgs: Message[] = []): void {
    let queue = msgs.slice();
    for (const n of this.nodes.values()) queue.push(...handleReady(n));
    const busy = (): boolean => queue.length > 0 || [...this.nodes.values()].some((n) => n.core.hasReady());
    for (let round = 0; busy(); round++) {
      if (round > 10_000) throw new Error('network: messages still flowing after 10,000 rounds (a livelock?)');
      const next: Message[] = [];
      for (const m of queue) {
        const n = this.nodes.get(m.to);
        const sender = this.nodes.get(m.from);
        if (!this.deliverable(m) || n === undefined) {
          // The transport tells the sender a snapshot did not make it.
          if (m.type === 'MsgSnap') sender?.core.reportSnapshot(m.to, 'failure');
          continue;
        }
        this.log.push(m);
        n.core.step(m);
        next.push(...handleReady(n));
        if (m.type === 'MsgSnap') sender?.core.reportSnapshot(m.to, 'finish');
      }
      for (const n of this.nodes.values()) next.push(...handleReady(n));
      queue = next;
    }
  }

  /** Runs `f` on a node and delivers what follows. */
  act(id: number, f: (c: RaftCore) => void): void {
    f(this.core(id));
    this.send();
  }

  campaign(id: number): void {
    this.act(id, (c) => c.campaign());
  }

  propose(id: number, data: string): void {
    this.act(id, (c) => c.propose(new TextEncoder().encode(data)));
  }

  /** Ticks every node `n` times, delivering after each round. */
  tickAll(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.core.tick();
      this.send();
    }
  }

  /** Ticks one node `n` times, delivering after each. */
  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.core(id).tick();
      this.send();
    }
  }

  /**
   * Restarts a node from its storage (a crash: all in-memory state is gone). Its state machine
   * is kept as if persisted along with its applied index.
   */
  restart(id: number, opts: NodeOptions = {}): TestNode {
    const old = this.node(id);
    const applied = old.applied[old.applied.length - 1]?.index ?? 0;
    const n = newTestNode(id, [], { applied: Math.max(applied, old.storage.snapshot().metadata.index), ...opts }, old.storage);
    n.applied = old.applied;
    this.nodes.set(id, n);
    return n;
  }

  /** Removes a node from the network (it is down); messages to it are lost. */
  stop(id: number): TestNode {
    const n = this.node(id);
    this.nodes.delete(id);
    return n;
  }

  private deliverable(m: Message): boolean {
    if (this.dropped.has(`${m.from}-${m.to}`)) return false;
    if (this.ignored.has(m.type)) return false;
    if (this.filter !== undefined && !this.filter(m)) return false;
    return true;
  }

  cut(a: number, b: number): void {
    this.dropped.add(`${a}-${b}`);
    this.dropped.add(`${b}-${a}`);
  }

  isolate(id: number): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(t: MessageType): void {
    this.ignored.add(t);
  }

  recover(): void {
    this.dropped.clear();
    this.ignored.clear();
    this.filter = undefined;
  }

  leader(): number {
    const leaders = [...this.nodes.values()].filter((n) => n.core.raft.state === 'leader').map((n) => n.id);
    return leaders[0] ?? 0;
  }

  appliedData(id: number): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}
