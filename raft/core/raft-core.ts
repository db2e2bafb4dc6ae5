/**
 * RaftCore: the API an application drives (etcd's RawNode). Synchronous and single-threaded.
 *
 * The loop, in this order:
 *   1. feed it: tick() on a timer, step(msg) for every received message, propose(data);
 *   2. if hasReady(): rd = ready(), then
 *      a. persist rd.hardState, rd.entries and rd.snapshot to stable storage (fsync);
 *      b. only then send rd.messages (they may promise what was just persisted: a vote, an
 *         ack of appended entries);
 *      c. install rd.snapshot and apply rd.committedEntries to the state machine, calling
 *         applyConfChange() for 'confChange' entries;
 *      d. advance().
 * Calling ready() again before advance() is an error.
 */
import { TscError } from '../../lib/errors.js';
import { Raft, type RaftConfig } from './raft.js';
import type { ProgressState } from './progress.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type ReadState,
  type Snapshot,
  type SoftState,
  NONE,
  encodeConfChange,
  hardStateEqual,
  isEmptyHardState,
  isLocalMessage,
  isResponseMessage,
  message,
} from './types.js';

export interface Ready {
  /** Changed leader or role; informational, nothing to persist. */
  softState?: SoftState;
  /** Term, vote and commit to persist BEFORE sending `messages`. Absent if unchanged. */
  hardState?: HardState;
  /** Entries to append to stable storage BEFORE sending `messages` (truncating any conflicting tail). */
  entries: Entry[];
  /** A snapshot to persist and install, before applying `committedEntries`. */
  snapshot?: Snapshot;
  /** Committed entries to apply, in order, after persisting the above. */
  committedEntries: Entry[];
  /** Messages to send AFTER persisting; every one may depend on the hard state or entries above. */
  messages: Message[];
  /** Answers to readIndex() requests: serve the read once `index` is applied. */
  readStates: ReadState[];
  /** Whether the writes must be fsynced (a vote, a term or entries changed). */
  mustSync: boolean;
}

export interface PeerStatus {
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
  isLearner: boolean;
}

export interface Status {
  id: number;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  leadTransferee: number;
  /** Only on the leader. */
  progress?: Map<number, PeerStatus>;
  config: ConfState;
}

function dropped(what: string): TscError {
  return new TscError('ERR_RAFT', `raft: proposal dropped: ${what}`, {
    hint: 'no leader is known, a leadership transfer is in progress, or the node was removed; retry later',
  });
}

export class RaftCore {
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private pending: Ready | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  /**
   * Starts a brand-new cluster member with the initial membership (etcd's Bootstrap): the
   * storage must be empty. The membership goes into the log as committed conf change entries
   * (term 1, indexes 1..n), so that nodes added later learn it by replaying the log. They are
   * applied now too, so the node can campaign at once; the application sees them again in
   * Ready.committedEntries, where applying them again changes nothing.
   */
  bootstrap(peers: readonly number[]): void {
    const r = this.raft;
    if (r.raftLog.lastIndex() !== 0) throw new TscError('ERR_RAFT', `raft: can't bootstrap a nonempty storage (node ${r.id})`);
    if (peers.length === 0) throw new TscError('ERR_RAFT', 'raft: bootstrap needs at least one peer');
    r.becomeFollower(1, NONE);
    const changes = peers.map((id): ConfChange => ({ transition: 'auto', changes: [{ type: 'addNode', nodeId: id }] }));
    r.raftLog.append(changes.map((cc, i): Entry => ({ term: 1, index: i + 1, type: 'confChange', data: encodeConfChange(cc) })));
    r.raftLog.committed = changes.length;
    for (const cc of changes) r.applyConfChange(cc);
  }

  /** Advances the logical clock by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    this.raft.tick();
  }

  /** Campaigns for leadership now (ignores the election timeout). */
  campaign(): void {
    this.raft.step(message({ type: 'MsgHup' }));
  }

  /** Proposes data for the log. Throws TscError ERR_RAFT if the proposal is dropped. */
  propose(data: Uint8Array): void {
    const ok = this.raft.step(
      message({ type: 'MsgProp', from: this.raft.id, entries: [{ index: 0, term: 0, type: 'normal', data }] }),
    );
    if (!ok) throw dropped(`node ${this.raft.id} (${this.raft.state}, leader ${this.raft.lead})`);
  }

  /**
   * Proposes several commands at once, in order: one MsgProp, so the leader sends each follower
   * one append for all of them (and gets one ack) instead of one per command. All or none are
   * taken: throws TscError ERR_RAFT if the batch is dropped.
   */
  proposeBatch(datas: readonly Uint8Array[]): void {
    if (datas.length === 0) return;
    const ok = this.raft.step(
      message({ type: 'MsgProp', from: this.raft.id, entries: datas.map((data) => ({ index: 0, term: 0, type: 'normal' as const, data })) }),
    );
    if (!ok) throw dropped(`node ${this.raft.id} (${this.raft.state}, leader ${this.raft.lead})`);
  }

  /** Proposes a membership change; apply it with applyConfChange() once committed. */
  proposeConfChange(cc: ConfChange): void {
    const ok = this.raft.step(
      message({
        type: 'MsgProp',
        from: this.raft.id,
        entries: [{ index: 0, term: 0, type: 'confChange', data: encodeConfChange(cc) }],
      }),
    );
    if (!ok) throw dropped(`node ${this.raft.id} conf change`);
  }

  /** Applies a committed conf change to the membership; returns the new membership. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Feeds a message received from a peer. Local message types are refused. */
  step(m: Message): void {
    if (isLocalMessage(m.type)) {
      throw new Error(`raft: cannot step raft local message ${m.type}`);
    }
    // Responses from nodes no longer in the configuration are ignored.
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from) && m.from !== NONE) {
      return;
    }
    this.raft.step(m);
  }

  /** Asks to transfer leadership to `transferee` (on the leader, or forwarded to it). */
  transferLeader(transferee: number): void {
    this.raft.step(message({ type: 'MsgTransferLeader', from: transferee }));
  }

  /**
   * Requests a linearizable read point; the answer comes back in Ready.readStates carrying
   * `ctx`. Reads are served after the state machine applied up to the returned index.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(message({ type: 'MsgReadIndex', entries: [{ index: 0, term: 0, type: 'normal', data: ctx }] }));
  }

  /** The transport could not reach `id`: stop pipelining to it. */
  reportUnreachable(id: number): void {
    this.raft.step(message({ type: 'MsgUnreachable', from: id }));
  }

  /** A snapshot sent to `id` was delivered (or failed). */
  reportSnapshot(id: number, status: 'finish' | 'failure'): void {
    this.raft.step(message({ type: 'MsgSnapStatus', from: id, reject: status === 'failure' }));
  }

  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoft.lead || ss.state !== this.prevSoft.state) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHard)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.unstableEntries().length > 0 || r.raftLog.hasNextEnts()) return true;
    return r.readStates.length > 0;
  }

  /** The work to do now, in order (see the file comment). Call advance() when done. */
  ready(): Ready {
    if (this.pending !== undefined) throw new Error('raft: ready() called again before advance()');
    const r = this.raft;
    const rd: Ready = {
      entries: r.raftLog.unstableEntries().slice(),
      committedEntries: r.raftLog.nextEnts(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: false,
    };
    const ss = r.softState();
    if (ss.lead !== this.prevSoft.lead || ss.state !== this.prevSoft.state) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHard)) rd.hardState = hs;
    if (r.raftLog.unstable.snapshot !== undefined) rd.snapshot = r.raftLog.unstable.snapshot;
    rd.mustSync = rd.entries.length > 0 || hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
    r.msgs = [];
    r.readStates = [];
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) r.raftLog.applying = lastCommitted.index;
    this.pending = rd;
    return rd;
  }

  /**
   * Everything in the last Ready was persisted, sent and applied.
   *
   * `{ persisted: false }` (a leader pipelining its own writes, Raft thesis 10.2.1): the Ready's
   * entries were handed to storage (the core may read them back) but are not durable yet; the
   * leader counts its own copy towards commit only when the application calls
   * persisted(index, term) once they are. Only for a Ready taken as leader without a snapshot
   * and without a new term or vote (those must be durable before anything else happens).
   */
  advance(opts: { persisted?: boolean } = {}): void {
    const rd = this.pending;
    if (rd === undefined) throw new Error('raft: advance() without a ready()');
    this.pending = undefined;
    const r = this.raft;
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    r.reduceUncommittedSize(rd.committedEntries);
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    const newApplied = lastCommitted?.index ?? rd.snapshot?.metadata.index ?? 0;
    if (newApplied > 0) r.appliedTo(newApplied);
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (rd.snapshot !== undefined) r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
    if (lastEntry !== undefined) {
      r.raftLog.stableTo(lastEntry.index, lastEntry.term);
      if (opts.persisted !== false) r.persisted(lastEntry.index, lastEntry.term);
    }
  }

  /**
   * The log is durable up to (index, term): after advance({ persisted: false }), when the write
   * of that Ready completes. A leader counts its own copy now, which may commit entries.
   * Harmless if this node is no longer leader or the entry was replaced since.
   */
  persisted(index: number, term: number): void {
    this.raft.persisted(index, term);
  }

  status(): Status {
    const r = this.raft;
    const st: Status = {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
      config: {
        voters: [...r.trk.config.voters[0]].sort((a, b) => a - b),
        votersOutgoing: [...r.trk.config.voters[1]].sort((a, b) => a - b),
        learners: [...r.trk.config.learners].sort((a, b) => a - b),
        learnersNext: [...r.trk.config.learnersNext].sort((a, b) => a - b),
        autoLeave: r.trk.config.autoLeave,
      },
    };
    if (r.state === 'leader') {
      st.progress = new Map();
      for (const [id, pr] of r.trk.progress) {
        st.progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
        });
      }
    }
    return st;
  }
}
