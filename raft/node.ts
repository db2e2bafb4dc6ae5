/**
 * The node runner: drives a RaftCore over durable storage (raft/README.md "The loop"). It owns
 * the timer, the Ready loop, the state machine's apply cursor, snapshots and compaction, and the
 * promises of proposals and linearizable reads. Messages leave through a `NodeTransport`; the
 * transport hands received ones to `step()` and reports failures with `reportUnreachable()` and
 * `reportSnapshot()`.
 *
 * Ordering, the part that must not be got wrong: a Ready's snapshot, entries and hard state are
 * written to the WAL and fsynced BEFORE its messages are handed to the transport (a vote or an
 * append ack promises what was persisted), and committed entries are applied only after that.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TscError } from '../lib/errors.js';
import { RaftCore, type Ready } from './core/raft-core.js';
import type { RaftConfig, RaftLogger } from './core/raft.js';
import { seededRand } from './core/rand.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type MessageType,
  type StateRole,
  NONE,
  decodeConfChange,
} from './core/types.js';
import { openDurable } from './storage/durable.js';
import { saveSnapshotFile } from './storage/snapshot.js';
import type { Wal } from './storage/wal.js';
import type { MemoryStorage } from './storage.js';
import { Wait } from './wait.js';

/** What the node replicates. apply() and snapshot() are synchronous: they see one applied index. */
export interface StateMachine {
  /** Applies a committed command; the return value resolves the proposer's promise. */
  apply(data: Uint8Array, index: number): unknown;
  /** The whole state, to be restored by restore() on this or another node. */
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

export interface NodeTransport {
  /** Sends messages (best effort; Raft retries). MsgSnap: report the outcome with reportSnapshot(). */
  send(msgs: Message[]): void;
}

export interface NodeOptions {
  id: number;
  /** Holds `wal/` and `snap/`. */
  dir: string;
  stateMachine: StateMachine;
  transport: NodeTransport;
  /** A new cluster's initial voters; ignored when the data dir holds state. Empty: join (wait for a leader). */
  peers?: readonly number[];
  /** Milliseconds per tick. Default 1000 (swarmkit). */
  tickMs?: number;
  /** Default 10 ticks (swarmkit). */
  electionTick?: number;
  /** Default 1 tick (swarmkit). */
  heartbeatTick?: number;
  /** Snapshot (and compact the log) every N applied entries. Default 10,000 (swarmkit). */
  snapshotEvery?: number;
  /** Entries kept behind a snapshot so a slightly slow follower needs no snapshot. Default 500 (swarmkit). */
  keepEntries?: number;
  /**
   * A leader sends its appends while it fsyncs its own copy (etcd does). Default true; false
   * sends every message only after the write.
   */
  leaderSendsBeforePersist?: boolean;
  /** How long a proposal or read may wait before failing. Default max(2 election timeouts, 5 s). */
  requestTimeoutMs?: number;
  /** Core settings passed through (flow control, pre-vote, check-quorum, ...). */
  raft?: Partial<Omit<RaftConfig, 'id' | 'storage' | 'rand' | 'applied' | 'electionTick' | 'heartbeatTick'>>;
  /** Called with each applied membership change (e.g. to add the peer's address to the transport). */
  onConfChange?: (cc: ConfChange, state: ConfState) => void;
  /** A storage failure stops the node (as etcd panics); default: rethrow out of the event loop. */
  onFatal?: (err: Error) => void;
  logger?: RaftLogger;
}

export interface NodeStatus {
  id: number;
  term: number;
  role: StateRole;
  /** 0 when no leader is known. */
  leader: number;
  commit: number;
  applied: number;
  voters: number[];
  learners: number[];
  snapshotIndex: number;
  /** On the leader only: the highest log index known replicated on each member (itself included). */
  match?: ReadonlyMap<number, number>;
}

const PROPOSAL = 1;
const ID_BYTES = 12;
const SNAPSHOTS_KEPT = 2;
const LEADER_MESSAGES = new Set<MessageType>(['MsgApp', 'MsgHeartbeat', 'MsgTimeoutNow']);

function raftError(message: string, hint?: string): TscError {
  return new TscError('ERR_RAFT', `raft: ${message}`, hint === undefined ? {} : { hint });
}

export class RaftNode {
  private readonly core: RaftCore;
  private readonly proposals = new Wait<unknown>();
  private readonly reads = new Wait<number>();
  /** Read requests answered by the leader, waiting for the state machine to reach `index`. */
  private readyReads: { id: string; index: number }[] = [];
  private readonly idPrefix = randomBytes(4);
  private seq = 0;
  private applied: number;
  private role: StateRole = 'follower';
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private fatal: Error | undefined;
  private readonly snapshotEvery: number;
  private readonly keepEntries: number;
  private readonly timeoutMs: number;
  private readonly sendBeforePersist: boolean;

  private constructor(
    private readonly opts: NodeOptions,
    private readonly storage: MemoryStorage,
    private readonly wal: Wal,
  ) {
    const electionTick = opts.electionTick ?? 10;
    const tickMs = opts.tickMs ?? 1000;
    this.snapshotEvery = opts.snapshotEvery ?? 10_000;
    this.keepEntries = opts.keepEntries ?? 500;
    this.sendBeforePersist = opts.leaderSendsBeforePersist ?? true;
    this.timeoutMs = opts.requestTimeoutMs ?? Math.max(2 * electionTick * tickMs, 5000);
    const snap = storage.snapshot();
    this.applied = snap.metadata.index;
    if (snap.metadata.index > 0) opts.stateMachine.restore(snap.data);
    this.core = new RaftCore({
      ...opts.raft,
      id: opts.id,
      storage,
      rand: seededRand(randomBytes(4).readUInt32BE(0)),
      electionTick,
      heartbeatTick: opts.heartbeatTick ?? 1,
      logger: opts.logger ?? opts.raft?.logger,
    });
    const empty = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
    if (empty && (opts.peers?.length ?? 0) > 0) this.core.bootstrap(opts.peers ?? []);
  }

  /** Opens (or recovers) the data dir and starts ticking. */
  static async start(opts: NodeOptions): Promise<RaftNode> {
    const d = await openDurable(opts.dir);
    const node = new RaftNode(opts, d.storage, d.wal);
    node.timer = setInterval(() => node.tick(), opts.tickMs ?? 1000);
    node.kick();
    return node;
  }

  // ---- input ------------------------------------------------------------------------------

  /** Feeds a message received from a peer. */
  step(m: Message): void {
    if (this.stopped) return;
    if (m.to !== this.opts.id) return;
    this.core.step(m);
    this.kick();
  }

  /** Campaigns now instead of waiting for the election timeout. */
  campaign(): void {
    this.core.campaign();
    this.kick();
  }

  transferLeadership(to: number): void {
    this.core.transferLeader(to);
    this.kick();
  }

  reportUnreachable(id: number): void {
    if (this.stopped) return;
    this.core.reportUnreachable(id);
    this.kick();
  }

  reportSnapshot(id: number, status: 'finish' | 'failure'): void {
    if (this.stopped) return;
    this.core.reportSnapshot(id, status);
    this.kick();
  }

  /**
   * Proposes a command; resolves with the state machine's result once it is applied here.
   * Rejects with ERR_RAFT when it cannot be proposed, on timeout, or when this node loses
   * leadership first (then the command may still be applied later: the outcome is unknown).
   */
  propose(data: Uint8Array): Promise<unknown> {
    const live = this.checkLive();
    if (live !== undefined) return Promise.reject(live);
    const id = this.nextId();
    const framed = new Uint8Array(1 + ID_BYTES + data.length);
    framed[0] = PROPOSAL;
    framed.set(id, 1);
    framed.set(data, 1 + ID_BYTES);
    const key = Buffer.from(id).toString('hex');
    const p = this.withTimeout(this.proposals, key, 'proposal');
    try {
      this.core.propose(framed);
    } catch (e) {
      this.proposals.cancel(key, e instanceof Error ? e : new Error(String(e)));
    }
    this.kick();
    return p;
  }

  /** Proposes a membership change; resolves with the new membership once applied here. */
  proposeConfChange(cc: ConfChange): Promise<unknown> {
    const live = this.checkLive();
    if (live !== undefined) return Promise.reject(live);
    const key = Buffer.from(this.nextId()).toString('hex');
    const p = this.withTimeout(this.proposals, key, 'conf change');
    try {
      this.core.proposeConfChange({ ...cc, context: JSON.stringify({ req: key, ctx: cc.context ?? '' }) });
    } catch (e) {
      this.proposals.cancel(key, e instanceof Error ? e : new Error(String(e)));
    }
    this.kick();
    return p;
  }

  /**
   * A linearizable read point (ReadIndex): resolves once this node's state machine has applied
   * everything committed before the call, so reading it locally then is linearizable.
   */
  readBarrier(): Promise<number> {
    const live = this.checkLive();
    if (live !== undefined) return Promise.reject(live);
    if (this.core.raft.lead === NONE) return Promise.reject(raftError(`node ${this.opts.id} knows no leader`, 'retry once a leader is elected'));
    const id = this.nextId();
    const key = Buffer.from(id).toString('hex');
    const p = this.withTimeout(this.reads, key, 'read');
    this.core.readIndex(id);
    this.kick();
    return p;
  }

  status(): NodeStatus {
    const st = this.core.status();
    return {
      id: st.id,
      term: st.hardState.term,
      role: st.softState.state,
      leader: st.softState.lead,
      commit: st.hardState.commit,
      applied: this.applied,
      voters: [...new Set([...st.config.voters, ...st.config.votersOutgoing])].sort((a, b) => a - b),
      learners: st.config.learners,
      snapshotIndex: this.storage.snapshot().metadata.index,
      ...(st.progress === undefined ? {} : { match: new Map([...st.progress].map(([id, pr]) => [id, pr.match])) }),
    };
  }

  /** Stops ticking, finishes the Ready being handled, fails pending requests and closes the WAL. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.loop?.catch(() => undefined);
    const err = raftError(`node ${this.opts.id} stopped`);
    this.proposals.cancelAll(err);
    this.reads.cancelAll(err);
    await this.wal.close();
  }

  // ---- the loop ---------------------------------------------------------------------------

  private tick(): void {
    if (this.stopped) return;
    this.core.tick();
    this.kick();
  }

  private checkLive(): TscError | undefined {
    if (this.fatal !== undefined) return raftError(`node ${this.opts.id} failed: ${this.fatal.message}`);
    if (this.stopped) return raftError(`node ${this.opts.id} is stopped`);
    return undefined;
  }

  private nextId(): Uint8Array {
    const b = Buffer.alloc(ID_BYTES);
    this.idPrefix.copy(b, 0);
    b.writeUIntBE(++this.seq, 4, 6);
    b.writeUInt16BE(this.opts.id & 0xffff, 10);
    return b;
  }

  private withTimeout<T>(w: Wait<T>, key: string, what: string): Promise<T> {
    const p = w.register(key);
    const t = setTimeout(
      () => w.cancel(key, raftError(`${what} timed out after ${this.timeoutMs} ms (outcome unknown)`, 'the cluster may have no quorum')),
      this.timeoutMs,
    );
    const clear = (): void => clearTimeout(t);
    p.then(clear, clear);
    return p;
  }

  /** Starts the Ready loop unless it runs already (it re-checks hasReady before it ends). */
  private kick(): void {
    if (this.loop !== undefined || this.stopped || this.fatal !== undefined) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
    });
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped && this.core.hasReady()) {
        const rd = this.core.ready();
        const confChanged = await this.handle(rd);
        this.core.advance();
        await this.maybeSnapshot(confChanged);
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.fatal = err;
      if (this.timer !== undefined) clearInterval(this.timer);
      const fail = raftError(`node ${this.opts.id} failed: ${err.message}`);
      this.proposals.cancelAll(fail);
      this.reads.cancelAll(fail);
      if (this.opts.onFatal !== undefined) this.opts.onFatal(err);
      else
        setImmediate(() => {
          throw err;
        });
    }
  }

  /** Persists, sends, applies one Ready. Returns whether the membership changed. */
  private async handle(rd: Ready): Promise<boolean> {
    // A leader's appends and heartbeats do not depend on its own disk (Raft thesis 10.2.1, and
    // etcd's raftNode): it counts its own copy only once advance() says it is durable, so it
    // may send them while it writes. Anything else waits for the fsync.
    const durable = this.storage.initialState().hardState;
    const early =
      this.sendBeforePersist &&
      (rd.softState?.state ?? this.role) === 'leader' &&
      rd.snapshot === undefined &&
      (rd.hardState === undefined || (rd.hardState.term === durable.term && rd.hardState.vote === durable.vote));
    const later: Message[] = [];
    if (early) {
      const now: Message[] = [];
      for (const m of rd.messages) (LEADER_MESSAGES.has(m.type) && m.to !== this.opts.id ? now : later).push(m);
      if (now.length > 0) this.opts.transport.send(now);
    } else {
      later.push(...rd.messages);
    }
    // Committed entries are durable on a majority already, so (as etcd does) they are applied
    // while this node writes its own copy: a client's answer does not wait for one more fsync.
    // The state machine is rebuilt from snapshot + log on restart, and snapshots are taken only
    // after advance(), so nothing durable ever runs ahead of the log. A Ready carrying a
    // snapshot keeps the strict order (install it first).
    let confChanged = false;
    const applyNow = rd.snapshot === undefined;
    if (applyNow) confChanged = this.applyAll(rd.committedEntries);
    // 1. persist, fsynced before anything that depends on it leaves.
    if (rd.snapshot !== undefined) {
      await saveSnapshotFile(join(this.opts.dir, 'snap'), rd.snapshot);
      await this.wal.saveSnapshotMarker(rd.snapshot.metadata.index, rd.snapshot.metadata.term);
      this.storage.applySnapshot(rd.snapshot);
    }
    await this.wal.save(rd.hardState, rd.entries, rd.mustSync);
    this.storage.append(rd.entries);
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    // 2. send.
    const out: Message[] = [];
    for (const m of later) {
      if (m.to === this.opts.id) this.core.step(m);
      else out.push(m);
    }
    if (out.length > 0) this.opts.transport.send(out);
    // 3. apply.
    if (rd.softState !== undefined) {
      const wasLeader = this.role === 'leader';
      this.role = rd.softState.state;
      if (wasLeader && this.role !== 'leader') {
        const err = raftError(`node ${this.opts.id} lost leadership (outcome unknown)`, 'retry on the new leader');
        this.proposals.cancelAll(err);
        this.reads.cancelAll(err);
        this.readyReads = [];
      }
    }
    if (rd.snapshot !== undefined && rd.snapshot.metadata.index > this.applied) {
      this.opts.stateMachine.restore(rd.snapshot.data);
      this.applied = rd.snapshot.metadata.index;
    }
    if (!applyNow) confChanged = this.applyAll(rd.committedEntries);
    for (const rs of rd.readStates) {
      this.readyReads.push({ id: Buffer.from(rs.requestCtx).toString('hex'), index: rs.index });
    }
    this.serveReads();
    return confChanged;
  }

  private applyAll(entries: readonly Entry[]): boolean {
    let confChanged = false;
    for (const e of entries) {
      if (e.type === 'confChange') confChanged = true;
      this.apply(e);
    }
    return confChanged;
  }

  private apply(e: Entry): void {
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      let req: string | undefined;
      let inner: ConfChange = cc;
      if (cc.context !== undefined && cc.context.startsWith('{"req"')) {
        const c = JSON.parse(cc.context) as { req: string; ctx: string };
        req = c.req;
        inner = { ...cc, context: c.ctx === '' ? undefined : c.ctx };
      }
      const cs = this.core.applyConfChange(cc);
      if (e.index > this.applied) this.applied = e.index;
      this.opts.onConfChange?.(inner, cs);
      if (req !== undefined) this.proposals.trigger(req, cs);
      return;
    }
    if (e.index <= this.applied) return;
    this.applied = e.index;
    if (e.data.length === 0 || e.data[0] !== PROPOSAL) return; // a leader's empty entry
    const id = Buffer.from(e.data.subarray(1, 1 + ID_BYTES)).toString('hex');
    const result = this.opts.stateMachine.apply(e.data.subarray(1 + ID_BYTES), e.index);
    this.proposals.trigger(id, result);
  }

  private serveReads(): void {
    if (this.readyReads.length === 0) return;
    const waiting: { id: string; index: number }[] = [];
    for (const r of this.readyReads) {
      if (r.index <= this.applied) this.reads.trigger(r.id, r.index);
      else waiting.push(r);
    }
    this.readyReads = waiting;
  }

  /** Snapshots every `snapshotEvery` entries and after membership changes, then compacts. */
  private async maybeSnapshot(confChanged: boolean): Promise<void> {
    const snapIndex = this.storage.snapshot().metadata.index;
    if (this.applied <= snapIndex) return;
    if (!confChanged && this.applied - snapIndex < this.snapshotEvery) return;
    if (this.applied > this.storage.lastIndex()) return;
    const snap = this.storage.createSnapshot(this.applied, this.core.status().config, this.opts.stateMachine.snapshot());
    const dir = join(this.opts.dir, 'snap');
    await saveSnapshotFile(dir, snap);
    // The WAL keeps only what comes after the snapshot: older segments are deleted.
    const hs = this.storage.initialState().hardState;
    const last = this.storage.lastIndex();
    const after = last > snap.metadata.index ? this.storage.entries(snap.metadata.index + 1, last + 1, Number.MAX_SAFE_INTEGER) : [];
    await this.wal.release({ index: snap.metadata.index, term: snap.metadata.term }, hs, after);
    const compactTo = this.applied - this.keepEntries;
    if (compactTo >= this.storage.firstIndex()) this.storage.compact(compactTo);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.snap')).sort();
    for (const n of names.slice(0, Math.max(0, names.length - SNAPSHOTS_KEPT))) await rm(join(dir, n), { force: true });
  }
}
