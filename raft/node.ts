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
  type Snapshot,
  type StateRole,
  NONE,
  decodeConfChange,
} from './core/types.js';
import { openDurable } from './storage/durable.js';
import { saveSnapshotFile } from './storage/snapshot.js';
import type { Wal } from './storage/wal.js';
import type { MemoryStorage } from './storage.js';
import { type Tracer, tracerFor } from './trace.js';
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

interface Deadline {
  at: number;
  key: string;
  wait: Wait<unknown>;
  what: string;
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
  private kickScheduled = false;
  /** A snapshot being written in the background (file, then WAL release). */
  private snapshotting: Promise<void> | undefined;
  private snapshotFile: Promise<unknown> | undefined;
  /** Its file is durable: the loop releases the WAL next (releaseSnapshot). */
  private snapshotRelease: { snap: Snapshot; resolve: () => void; reject: (e: unknown) => void } | undefined;
  /** A membership change was applied while a snapshot was being written: take another. */
  private snapshotConfPending = false;
  /** Proposals made in this turn, proposed together when the loop runs. */
  private queued: { data: Uint8Array; key: string }[] = [];
  /** Request deadlines, oldest first, from deadlineHead on. */
  private deadlines: Deadline[] = [];
  private deadlineHead = 0;
  /** The last pipelined write of a leader (with its completion handled); resolved when none. */
  private lastWrite: Promise<void> = Promise.resolve();
  private stopped = false;
  private fatal: Error | undefined;
  private readonly snapshotEvery: number;
  private readonly keepEntries: number;
  private readonly timeoutMs: number;
  private readonly sendBeforePersist: boolean;
  /** RAFT_TRACE's per-proposal timeline (raft/trace.ts); undefined when off. */
  private readonly trace: Tracer | undefined;
  private tracedCommit = 0;

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
    this.trace = tracerFor(opts.id);
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
    if (this.trace !== undefined) this.traceIn(m);
    this.core.step(m);
    if (this.trace !== undefined) this.traceCommit();
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
    this.queued.push({ data: framed, key });
    this.kick();
    return p;
  }

  /**
   * Proposes everything queued since the last turn as one batch: one append per follower and
   * one WAL record run for all of it (a proposal waits at most for the current turn to end).
   */
  private proposeQueued(): void {
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    try {
      this.core.proposeBatch(batch.map((q) => q.data));
      if (this.trace !== undefined) {
        const last = this.core.raft.raftLog.lastIndex();
        this.trace.mark('prop', last - batch.length + 1, last);
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const q of batch) this.proposals.cancel(q.key, err);
    }
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

  /** This node's role and the leader it knows (0: none): cheap, for every request's routing. */
  leadership(): { role: StateRole; leader: number } {
    return { role: this.core.raft.state, leader: this.core.raft.lead };
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
    await this.finishSnapshot();
    const err = raftError(`node ${this.opts.id} stopped`);
    this.proposals.cancelAll(err);
    this.reads.cancelAll(err);
    await this.wal.close();
  }

  // ---- the loop ---------------------------------------------------------------------------

  private tick(): void {
    if (this.stopped) return;
    this.expire();
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

  /**
   * Registers a request that fails after timeoutMs. Deadlines sit in a queue swept on every
   * tick (they all have the same length, so it stays in order): no timer per request.
   */
  private withTimeout<T>(w: Wait<T>, key: string, what: string): Promise<T> {
    const p = w.register(key);
    this.deadlines.push({ at: Date.now() + this.timeoutMs, key, wait: w as Wait<unknown>, what });
    return p;
  }

  private expire(): void {
    const now = Date.now();
    while (this.deadlines.length > this.deadlineHead && (this.deadlines[this.deadlineHead] as Deadline).at <= now) {
      const d = this.deadlines[this.deadlineHead++] as Deadline;
      if (d.wait.isRegistered(d.key)) d.wait.cancel(d.key, raftError(`${d.what} timed out after ${this.timeoutMs} ms (outcome unknown)`, 'the cluster may have no quorum'));
    }
    if (this.deadlineHead > 1024 && this.deadlineHead * 2 > this.deadlines.length) {
      this.deadlines = this.deadlines.slice(this.deadlineHead);
      this.deadlineHead = 0;
    }
  }

  /**
   * Runs the Ready loop on the next turn of the event loop (setImmediate: no timer), so that
   * everything that arrived in this turn (proposals, acks, a whole frame of appends) goes into
   * one Ready: one WAL write and one message per peer for all of it.
   */
  private kick(): void {
    if (this.kickScheduled || this.stopped || this.fatal !== undefined) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      if (this.loop !== undefined || this.stopped || this.fatal !== undefined) return;
      this.loop = this.run().finally(() => {
        this.loop = undefined;
        // Something may have happened while the loop was finishing (a write completing).
        if (!this.stopped && this.fatal === undefined && (this.queued.length > 0 || this.snapshotRelease !== undefined || this.core.hasReady())) this.kick();
      });
    });
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped || this.fatal !== undefined) return;
        this.releaseSnapshot();
        this.proposeQueued();
        if (!this.core.hasReady()) return;
        const rd = this.core.ready();
        if (this.canPipeline(rd)) {
          const confChanged = this.handlePipelined(rd);
          this.core.advance({ persisted: false });
          if (this.trace !== undefined) this.traceCommit();
          await this.maybeSnapshot(confChanged);
          continue;
        }
        // Anything else waits for the leader's writes in flight, then goes in strict order.
        await this.lastWrite;
        if (this.fatal !== undefined) return;
        const confChanged = await this.handle(rd);
        this.core.advance();
        if (this.trace !== undefined) this.traceCommit();
        await this.maybeSnapshot(confChanged);
      }
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (this.fatal !== undefined) return;
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

  /**
   * A leader's Ready may be handled without waiting for its own write (Raft thesis 10.2.1, etcd
   * raft's asynchronous storage writes): its appends and heartbeats do not depend on its own
   * disk, and it counts its own copy only once persisted() says the write is durable. Not with
   * a snapshot, nor with a new term or vote: those are made durable before anything else.
   */
  private canPipeline(rd: Ready): boolean {
    if (!this.sendBeforePersist || rd.snapshot !== undefined) return false;
    if ((rd.softState?.state ?? this.role) !== 'leader') return false;
    const durable = this.storage.initialState().hardState;
    return rd.hardState === undefined || (rd.hardState.term === durable.term && rd.hardState.vote === durable.vote);
  }

  /**
   * The leader's pipelined Ready: appends and heartbeats leave now, committed entries (durable
   * on a majority) are applied now, the entries go to the in-memory log the core reads and to
   * the WAL's next group write. When that write is durable the leader counts its own copy, and
   * the Ready's other messages (replies to older terms, never acks or votes of its own) leave.
   */
  private handlePipelined(rd: Ready): boolean {
    const now: Message[] = [];
    const later: Message[] = [];
    for (const m of rd.messages) (LEADER_MESSAGES.has(m.type) && m.to !== this.opts.id ? now : later).push(m);
    if (now.length > 0) this.sendOut(now);
    this.roleChange(rd);
    const confChanged = this.applyAll(rd.committedEntries);
    this.storage.append(rd.entries);
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    const first = rd.entries[0];
    const last = rd.entries[rd.entries.length - 1];
    if (first !== undefined && last !== undefined) this.trace?.mark('wal-start', first.index, last.index);
    this.lastWrite = this.wal.save(rd.hardState, rd.entries, rd.mustSync).then(
      () => {
        if (this.stopped || this.fatal !== undefined) return;
        if (first !== undefined && last !== undefined) {
          this.trace?.mark('wal-done', first.index, last.index);
          this.core.persisted(last.index, last.term);
        }
        this.deliver(later);
        this.kick();
      },
      (e: unknown) => this.fail(e),
    );
    this.queueReads(rd);
    return confChanged;
  }

  /** Messages to this node are stepped, the others sent. */
  private deliver(msgs: readonly Message[]): void {
    const out: Message[] = [];
    for (const m of msgs) {
      if (m.to === this.opts.id) this.core.step(m);
      else out.push(m);
    }
    if (out.length > 0) this.sendOut(out);
  }

  private roleChange(rd: Ready): void {
    if (rd.softState === undefined) return;
    const wasLeader = this.role === 'leader';
    this.role = rd.softState.state;
    if (wasLeader && this.role !== 'leader') {
      const err = raftError(`node ${this.opts.id} lost leadership (outcome unknown)`, 'retry on the new leader');
      this.proposals.cancelAll(err);
      this.reads.cancelAll(err);
      this.readyReads = [];
    }
  }

  private queueReads(rd: Ready): void {
    for (const rs of rd.readStates) {
      this.readyReads.push({ id: Buffer.from(rs.requestCtx).toString('hex'), index: rs.index });
    }
    this.serveReads();
  }

  /**
   * Persists, sends, applies one Ready in strict order. Returns whether the membership changed.
   * A follower's acks and votes leave only after the write and fsync they promise.
   */
  private async handle(rd: Ready): Promise<boolean> {
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
      // Our own snapshot being written goes first (it releases WAL segments).
      await this.finishSnapshot();
      await saveSnapshotFile(join(this.opts.dir, 'snap'), rd.snapshot);
      await this.wal.saveSnapshotMarker(rd.snapshot.metadata.index, rd.snapshot.metadata.term);
      this.storage.applySnapshot(rd.snapshot);
    }
    const firstNew = rd.entries[0]?.index ?? 0;
    const lastNew = rd.entries[rd.entries.length - 1]?.index ?? 0;
    if (lastNew > 0) this.trace?.mark('wal-start', firstNew, lastNew);
    await this.wal.save(rd.hardState, rd.entries, rd.mustSync);
    if (lastNew > 0) this.trace?.mark('wal-done', firstNew, lastNew);
    this.storage.append(rd.entries);
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    // 2. send.
    this.deliver(rd.messages);
    // 3. apply.
    this.roleChange(rd);
    if (rd.snapshot !== undefined && rd.snapshot.metadata.index > this.applied) {
      this.opts.stateMachine.restore(rd.snapshot.data);
      this.applied = rd.snapshot.metadata.index;
    }
    if (!applyNow) confChanged = this.applyAll(rd.committedEntries);
    this.queueReads(rd);
    return confChanged;
  }

  /** Hands messages to the transport (recording appends and acks when tracing). */
  private sendOut(msgs: Message[]): void {
    if (this.trace !== undefined) {
      for (const m of msgs) {
        if (m.type === 'MsgApp' && m.entries.length > 0) this.trace.mark('app-out', (m.entries[0] as Entry).index, m.index + m.entries.length, m.to);
        else if (m.type === 'MsgAppResp' && !m.reject) this.trace.mark('ack-out', m.index, m.index, m.to);
      }
    }
    this.opts.transport.send(msgs);
  }

  private traceIn(m: Message): void {
    if (m.type === 'MsgApp' && m.entries.length > 0) this.trace?.mark('app-in', (m.entries[0] as Entry).index, m.index + m.entries.length, m.from);
    else if (m.type === 'MsgAppResp' && !m.reject) this.trace?.mark('ack-in', m.index, m.index, m.from);
  }

  private traceCommit(): void {
    const c = this.core.raft.raftLog.committed;
    if (c > this.tracedCommit) {
      this.trace?.mark('commit', this.tracedCommit + 1, c);
      this.tracedCommit = c;
    }
  }

  private applyAll(entries: readonly Entry[]): boolean {
    if (this.trace !== undefined && entries.length > 0) this.trace.mark('apply', (entries[0] as Entry).index, (entries[entries.length - 1] as Entry).index);
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
  private snapshotDue(confChanged: boolean): boolean {
    const snapIndex = this.storage.snapshot().metadata.index;
    if (this.applied <= snapIndex) return false;
    if (!confChanged && this.applied - snapIndex < this.snapshotEvery) return false;
    return this.applied <= this.storage.lastIndex();
  }

  /**
   * Snapshots every `snapshotEvery` entries and after membership changes. Only the state
   * machine's snapshot() and the in-memory compaction happen in the loop; the file is written
   * in the background, and the WAL released from the loop once it is durable (see
   * releaseSnapshot), so the Ready loop does not stop for the disk.
   */
  private async maybeSnapshot(confChanged: boolean): Promise<void> {
    if (this.snapshotting !== undefined) {
      // One at a time; a membership change still gets its snapshot once this one is done.
      if (confChanged) this.snapshotConfPending = true;
      return;
    }
    const force = confChanged || this.snapshotConfPending;
    if (!this.snapshotDue(force)) return;
    this.snapshotConfPending = false;
    const snap = this.storage.createSnapshot(this.applied, this.core.status().config, this.opts.stateMachine.snapshot());
    const compactTo = this.applied - this.keepEntries;
    if (compactTo >= this.storage.firstIndex()) this.storage.compact(compactTo);
    const dir = join(this.opts.dir, 'snap');
    this.snapshotFile = saveSnapshotFile(dir, snap);
    this.snapshotting = this.snapshotFile
      .then(
        () =>
          new Promise<void>((resolve, reject) => {
            this.snapshotRelease = { snap, resolve, reject };
            this.kick();
          }),
      )
      .then(async () => {
        const names = (await readdir(dir)).filter((n) => n.endsWith('.snap')).sort();
        for (const n of names.slice(0, Math.max(0, names.length - SNAPSHOTS_KEPT))) await rm(join(dir, n), { force: true });
      })
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        this.snapshotting = undefined;
        if (this.snapshotConfPending) this.kick();
      });
    await Promise.resolve();
  }

  /** Waits for the snapshot being written, releasing the WAL itself (the loop is not running it). */
  private async finishSnapshot(): Promise<void> {
    while (this.snapshotting !== undefined) {
      if (this.snapshotRelease === undefined) await this.snapshotFile?.catch(() => undefined);
      this.releaseSnapshot();
      await this.snapshotting;
    }
  }

  /**
   * Once a snapshot file is durable: the WAL keeps only what comes after it (older segments
   * are deleted). Called from the loop between Readies, when every save made so far has its
   * entries in the in-memory log, so the new segment gets every entry after the snapshot.
   */
  private releaseSnapshot(): void {
    const r = this.snapshotRelease;
    if (r === undefined) return;
    this.snapshotRelease = undefined;
    const { snap } = r;
    const hs = this.storage.initialState().hardState;
    const last = this.storage.lastIndex();
    const first = Math.max(snap.metadata.index + 1, this.storage.firstIndex());
    const after = last >= first ? this.storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [];
    this.wal.release({ index: snap.metadata.index, term: snap.metadata.term }, hs, after).then(r.resolve, r.reject);
  }
}
