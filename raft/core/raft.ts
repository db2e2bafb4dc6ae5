/**
 * The Raft state machine (etcd-io/raft's raft.go). Pure and synchronous: it reads storage, and
 * everything it wants done (messages, entries to persist, entries to apply) accumulates in
 * fields that RaftCore hands out as a Ready. Time is tick() calls; chance is the Rand in the
 * config.
 *
 * Roles are swapped functions: becomeFollower/Candidate/Leader set `stepFn` and `tickFn`; one
 * step() does the term checks every role shares, then dispatches to the role's function.
 */
import { TscError } from '../../lib/errors.js';
import { type LogStorage, StorageError, isStorageError } from '../storage.js';
import { enterJoint, leaveJoint, restore as restoreConfig, simple, type ConfChangeResult } from './confchange.js';
import { RaftLog } from './log.js';
import { type Progress, ProgressTracker, confStateOf } from './progress.js';
import type { Rand } from './rand.js';
import { ReadOnly, type ReadOnlyOption } from './read-only.js';
import { jointVoteResult } from './quorum.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type ReadState,
  type SoftState,
  type Snapshot,
  type StateRole,
  NONE,
  confChangeEntersJoint,
  confChangeLeavesJoint,
  decodeConfChange,
  isEmptyHardState,
  message,
  payloadSize,
  voteResponseType,
} from './types.js';

export interface RaftLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export interface RaftConfig {
  /** This node's id, not 0. */
  id: number;
  /** The durable log; its initial state gives term, vote, commit and membership. */
  storage: LogStorage;
  /** Randomizes election timeouts; seed it to replay a run. */
  rand: Rand;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [e, 2e)). Default 10. */
  electionTick?: number;
  /** Ticks between leader heartbeats. Default 1. */
  heartbeatTick?: number;
  /** The last index the application applied before this restart (0: none beyond the snapshot). */
  applied?: number;
  /** Max bytes of entries in one MsgApp. Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Max bytes of committed entries in one Ready. Default unlimited. */
  maxCommittedSizePerReady?: number;
  /** Max bytes of uncommitted entries a leader accepts before dropping proposals. 0: unlimited. */
  maxUncommittedEntriesSize?: number;
  /** Max MsgApps in flight to one follower in replicate state (pipelining). Default 256. */
  maxInflightMsgs?: number;
  /** Max bytes in flight to one follower. 0: unlimited. */
  maxInflightBytes?: number;
  /** Leader steps down after an election timeout without hearing from a quorum. Default true. */
  checkQuorum?: boolean;
  /** Ask before campaigning, so a partitioned node does not disrupt on return. Default true. */
  preVote?: boolean;
  readOnlyOption?: ReadOnlyOption;
  /** Followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  logger?: RaftLogger;
}

type CampaignType = 'preElection' | 'election' | 'transfer';

const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

const silent: RaftLogger = { debug: () => {}, info: () => {}, warn: () => {} };

function configError(key: string, message: string): TscError {
  return new TscError('ERR_RAFT', `raft config ${key}: ${message}`, { path: key });
}

function isCampaignTransfer(ctx: Uint8Array | undefined): boolean {
  if (ctx === undefined || ctx.length !== CAMPAIGN_TRANSFER.length) return false;
  return ctx.every((b, i) => b === CAMPAIGN_TRANSFER[i]);
}

export class Raft {
  readonly id: number;
  term = 0;
  vote = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  trk: ProgressTracker;
  state: StateRole = 'follower';
  isLearner = false;
  /** Messages to send once the current Ready is persisted. */
  msgs: Message[] = [];
  lead = NONE;
  /** The follower a leadership transfer is handing over to. */
  leadTransferee = NONE;
  /**
   * Index of the latest conf change proposed by this leader; no new one is accepted until the
   * log is applied past it. Set to the last index on election (commit an own-term entry first).
   */
  pendingConfIndex = 0;
  uncommittedSize = 0;
  readOnly: ReadOnly;
  /** Ticks since the last election timeout reset (followers: since last heard from a leader). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  /** ReadIndex requests waiting for this leader to commit an entry of its own term. */
  pendingReadIndexMessages: Message[] = [];
  private tickFn: () => void = () => {};
  private stepFn: (m: Message) => boolean = () => true;
  private readonly rand: Rand;
  readonly logger: RaftLogger;

  constructor(c: RaftConfig) {
    if (!Number.isInteger(c.id) || c.id <= 0) throw configError('id', `must be a positive integer, got ${c.id}`);
    const heartbeat = c.heartbeatTick ?? 1;
    const election = c.electionTick ?? 10;
    if (heartbeat <= 0) throw configError('heartbeatTick', 'must be greater than 0');
    if (election <= heartbeat) throw configError('electionTick', 'must be greater than heartbeatTick');
    const maxInflight = c.maxInflightMsgs ?? 256;
    if (maxInflight <= 0) throw configError('maxInflightMsgs', 'must be greater than 0');
    const maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    const maxInflightBytes = c.maxInflightBytes ?? 0;
    if (maxInflightBytes > 0 && maxInflightBytes < maxMsgSize) {
      throw configError('maxInflightBytes', 'must be at least maxSizePerMsg');
    }
    const readOnlyOption = c.readOnlyOption ?? 'safe';
    const checkQuorum = c.checkQuorum ?? true;
    if (readOnlyOption === 'leaseBased' && !checkQuorum) {
      throw configError('readOnlyOption', 'leaseBased reads need checkQuorum');
    }
    this.id = c.id;
    this.rand = c.rand;
    this.logger = c.logger ?? silent;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? Number.MAX_SAFE_INTEGER);
    this.maxMsgSize = maxMsgSize;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 0;
    this.trk = new ProgressTracker(maxInflight, maxInflightBytes);
    this.electionTimeout = election;
    this.heartbeatTimeout = heartbeat;
    this.checkQuorum = checkQuorum;
    this.preVote = c.preVote ?? true;
    this.readOnly = new ReadOnly(readOnlyOption);
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;

    const { hardState, confState } = c.storage.initialState();
    const r = restoreConfig({ tracker: this.trk, lastIndex: this.raftLog.lastIndex() }, confState);
    this.switchToConfig(r);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if ((c.applied ?? 0) > 0) this.raftLog.appliedTo(c.applied as number);
    this.becomeFollower(this.term, NONE);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  softState(): SoftState {
    return { lead: this.lead, state: this.state };
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new Error(
        `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- sending ----------------------------------------------------------------------------

  /** Queues a message; the term is stamped here (never on local-style MsgProp/MsgReadIndex). */
  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    if (m.type === 'MsgVote' || m.type === 'MsgVoteResp' || m.type === 'MsgPreVote' || m.type === 'MsgPreVoteResp') {
      // Vote messages carry the term they are about (a pre-vote's is in the future).
      if (m.term === 0) throw new Error(`term should be set when sending ${m.type}`);
    } else {
      if (m.term !== 0) throw new Error(`term should not be set when sending ${m.type} (was ${m.term})`);
      if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends a MsgApp (or a snapshot) to `to` if flow control allows. */
  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends entries from pr.next on, or a heartbeat-like empty MsgApp if `sendIfEmpty`; a
   * snapshot if the entries were compacted. Returns whether a message was sent.
   */
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm = 0;
    let ents: Entry[] = [];
    let compacted = false;
    try {
      prevTerm = this.raftLog.term(prevIndex);
      // A full pipeline sends only empty MsgApps, so that a lost batch cannot stall it forever.
      if (pr.state !== 'replicate' || !pr.inflights.full()) ents = this.raftLog.entries(pr.next, this.maxMsgSize);
    } catch (e) {
      if (!(e instanceof StorageError)) throw e;
      compacted = true;
    }
    if (ents.length === 0 && !sendIfEmpty && !compacted) return false;
    if (compacted) {
      if (!pr.recentActive) return false;
      let snapshot;
      try {
        snapshot = this.raftLog.snapshot();
      } catch (e) {
        // Temporarily unavailable: retried on the next heartbeat response.
        if (isStorageError(e, 'snapshotTemporarilyUnavailable')) return false;
        throw e;
      }
      if (snapshot.metadata.index === 0) throw new Error('need non-empty snapshot');
      pr.becomeSnapshot(snapshot.metadata.index);
      this.logger.debug(`${this.id} sent snapshot[${snapshot.metadata.index}] to ${to}`);
      this.send(message({ type: 'MsgSnap', to, snapshot }));
      return true;
    }
    let bytes = 0;
    for (const e of ents) bytes += payloadSize(e);
    pr.updateOnEntriesSend(ents.length, bytes, pr.next);
    this.send(
      message({ type: 'MsgApp', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed }),
    );
    return true;
  }

  /** A heartbeat carries commit = min(match, committed): a follower never commits past what it has. */
  private sendHeartbeat(to: number, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to) as Progress;
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send(message({ type: 'MsgHeartbeat', to, commit, context: ctx }));
  }

  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  private bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  // ---- commit and apply -------------------------------------------------------------------

  /** Commits the quorum's match index if it is an entry of this term. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  /** Called by RaftCore.advance with the last index the application applied. */
  appliedTo(newApplied: number): void {
    const oldApplied = this.raftLog.applied;
    this.raftLog.appliedTo(newApplied);
    if (
      this.trk.config.autoLeave &&
      oldApplied <= this.pendingConfIndex &&
      newApplied >= this.pendingConfIndex &&
      this.state === 'leader'
    ) {
      // The joint configuration is applied: leave it. An empty payload cannot be refused for size.
      const ent: Entry = { index: 0, term: 0, type: 'confChange', data: new Uint8Array(0) };
      if (!this.appendEntry([ent])) throw new Error('refused un-refusable auto-leaving ConfChange');
      this.pendingConfIndex = this.raftLog.lastIndex();
      this.bcastAppend();
    }
  }

  // ---- role changes -----------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, old) => {
      const pr = old.clone();
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      pr.state = 'probe';
      pr.pendingSnapshot = 0;
      pr.recentActive = false;
      pr.msgAppFlowPaused = false;
      pr.inflights = this.trk.newInflights();
      this.trk.progress.set(id, pr);
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
  }

  becomeFollower(term: number, lead: number): void {
    this.stepFn = (m) => this.stepFollower(m);
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = 'follower';
    this.logger.info(`${this.id} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.state === 'leader') throw new Error('invalid transition [leader -> candidate]');
    this.stepFn = (m) => this.stepCandidate(m);
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = 'candidate';
    this.logger.info(`${this.id} became candidate at term ${this.term}`);
  }

  /** Pre-candidates keep their term and vote: a lost pre-vote disturbs nobody. */
  becomePreCandidate(): void {
    if (this.state === 'leader') throw new Error('invalid transition [leader -> pre-candidate]');
    this.stepFn = (m) => this.stepCandidate(m);
    this.trk.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = NONE;
    this.state = 'preCandidate';
    this.logger.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.state === 'follower') throw new Error('invalid transition [follower -> leader]');
    this.stepFn = (m) => this.stepLeader(m);
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = 'leader';
    const self = this.trk.progress.get(this.id) as Progress;
    self.becomeReplicate();
    self.recentActive = true;
    // There may be an unapplied conf change in the log; refuse new ones until the log up to
    // here is applied (this is also the fix for the single-server change bug: the leader's
    // empty entry of its own term commits before any change it proposes).
    this.pendingConfIndex = this.raftLog.lastIndex();
    if (!this.appendEntry([{ index: 0, term: 0, type: 'normal', data: new Uint8Array(0) }])) {
      throw new Error('empty entry was dropped');
    }
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rand.intn(this.electionTimeout);
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /** Can this node campaign? Only a voter, and not while a snapshot is being installed. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  // ---- ticks ------------------------------------------------------------------------------

  tick(): void {
    this.tickFn();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(message({ type: 'MsgHup', from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: 'MsgCheckQuorum', from: this.id }));
      // A transfer that did not finish in an election timeout is abandoned.
      if (this.state === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== 'leader') return;
    // A leader that is no longer a voter keeps trying to hand over.
    if (this.leadTransferee === NONE && this.removedOrDemoted()) this.handOffLeadership();
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: 'MsgBeat', from: this.id }));
    }
  }

  // ---- elections --------------------------------------------------------------------------

  private hup(t: CampaignType): void {
    if (this.state === 'leader') return;
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${this.id} cannot campaign at term ${this.term}: unapplied configuration changes`);
      return;
    }
    this.campaign(t);
  }

  /** A node with a committed but unapplied conf change does not know its membership yet. */
  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
    const ents = this.raftLog.slice(lo, this.raftLog.committed + 1, Number.MAX_SAFE_INTEGER);
    return ents.some((e) => e.type === 'confChange');
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) throw new Error(`${this.id} is unpromotable; campaign() should have been called`);
    let term: number;
    let voteMsg: 'MsgVote' | 'MsgPreVote';
    if (t === 'preElection') {
      this.becomePreCandidate();
      voteMsg = 'MsgPreVote';
      // Pre-vote asks about the next term without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = 'MsgVote';
      term = this.term;
    }
    if (this.poll(this.id, voteResponseType(voteMsg), true) === 'won') {
      // A single-voter cluster wins at once.
      if (t === 'preElection') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voterIds()) {
      if (id === this.id) continue;
      this.send(
        message({
          type: voteMsg,
          to: id,
          term,
          index: lastIndex,
          logTerm: lastTerm,
          context: t === 'transfer' ? CAMPAIGN_TRANSFER : undefined,
        }),
      );
    }
  }

  private poll(id: number, t: string, granted: boolean): 'won' | 'lost' | 'pending' {
    this.logger.debug(`${this.id} received ${t} ${granted ? '' : 'rejection '}from ${id} at term ${this.term}`);
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- step -------------------------------------------------------------------------------

  /**
   * Handles one message. Returns false when a proposal was dropped (no leader, transfer in
   * progress, size limit, removed node); every other outcome is true.
   */
  step(m: Message): boolean {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = isCampaignTransfer(m.context);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a live leader within the election timeout: ignore the vote request
          // rather than let a partitioned node with a higher term disrupt the cluster.
          return true;
        }
      }
      if (m.type === 'MsgPreVote') {
        // Never change our term in response to a pre-vote.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // A granted pre-vote carries the term we asked about; we move to it only on winning.
      } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader would otherwise never learn of our term: with check-quorum or pre-vote
        // we do not bump terms on vote requests, so answer to make it step down.
        this.send(message({ type: 'MsgAppResp', to: m.from }));
      } else if (m.type === 'MsgPreVote') {
        // Reject explicitly so a pre-candidate behind on terms learns the current one.
        this.send(message({ type: 'MsgPreVoteResp', to: m.from, term: this.term, reject: true }));
      }
      return true;
    }

    switch (m.type) {
      case 'MsgHup':
        this.hup(this.preVote ? 'preElection' : 'election');
        return true;
      case 'MsgVote':
      case 'MsgPreVote': {
        const canVote =
          // a repeat of a vote we already cast,
          this.vote === m.from ||
          // or we have not voted and know no leader in this term,
          (this.vote === NONE && this.lead === NONE) ||
          // or a pre-vote for a future term;
          (m.type === 'MsgPreVote' && m.term > this.term);
        // and the candidate's log is at least as up to date as ours (section 5.4.1).
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // The response carries m.term (not ours): a granted pre-vote is for a future term.
          this.send(message({ type: voteResponseType(m.type), to: m.from, term: m.term }));
          if (m.type === 'MsgVote') {
            // Only real votes are recorded; they are durable before this response leaves.
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(message({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true }));
        }
        return true;
      }
      default:
        return this.stepFn(m);
    }
  }

  private stepLeader(m: Message): boolean {
    switch (m.type) {
      case 'MsgBeat':
        this.bcastHeartbeat();
        return true;
      case 'MsgCheckQuorum':
        if (!this.trk.quorumActive()) {
          this.logger.warn(`${this.id} stepped down to follower since quorum is not active`);
          this.becomeFollower(this.term, NONE);
        }
        this.trk.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return true;
      case 'MsgProp':
        return this.stepLeaderPropose(m);
      case 'MsgReadIndex':
        // Until an entry of this term commits, our commit index may be behind the cluster's
        // (or, after a restart, behind what we ourselves committed before the crash: a one-voter
        // cluster too).
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return true;
        }
        this.sendReadIndexResponse(m);
        return true;
      default:
        break;
    }

    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) return true;
    switch (m.type) {
      case 'MsgAppResp':
        pr.recentActive = true;
        if (m.reject) {
          // rejectHint is where the follower thinks our logs may agree, and logTerm its term
          // there: skip every entry of ours in a later term than that in one go.
          let nextProbeIdx = m.rejectHint;
          if (m.logTerm > 0) nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
          if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
            if (pr.state === 'replicate') pr.becomeProbe();
            this.sendAppend(m.from);
          }
        } else {
          const oldPaused = pr.isPaused();
          if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
            if (pr.state === 'probe') {
              pr.becomeReplicate();
            } else if (pr.state === 'snapshot' && pr.match + 1 >= this.raftLog.firstIndex()) {
              // Caught up past the compaction point (by the snapshot or otherwise): back to
              // appending, via probe so that next accounts for the snapshot.
              pr.becomeProbe();
              pr.becomeReplicate();
            } else if (pr.state === 'replicate') {
              pr.inflights.freeLE(m.index);
            }
            if (this.maybeCommit()) {
              // Commit moved in this term: pending reads can be served now.
              this.releasePendingReadIndexMessages();
              this.bcastAppend();
            } else if (oldPaused) {
              // It was paused and may be missing our latest commit index.
              this.sendAppend(m.from);
            }
            // Flow control may allow several messages now; send as many as fit.
            while (this.maybeSendAppend(m.from, false)) {
              // keep sending
            }
            if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
              this.sendTimeoutNow(m.from);
            }
          }
        }
        return true;
      case 'MsgHeartbeatResp': {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        // Probe a follower that is behind (or in probe state) on every heartbeat response: this
        // also recovers a full pipeline whose messages were all lost.
        if (pr.match < this.raftLog.lastIndex() || pr.state === 'probe') this.sendAppend(m.from);
        if (this.readOnly.option !== 'safe' || m.context === undefined || m.context.length === 0) return true;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (acks === undefined) return true;
        const votes = new Map<number, boolean>();
        for (const id of acks) votes.set(id, true);
        if (jointVoteResult(this.trk.config.voters, votes) !== 'won') return true;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
        return true;
      }
      case 'MsgSnapStatus':
        if (pr.state !== 'snapshot') return true;
        if (m.reject) pr.pendingSnapshot = 0; // failed: probe from match, not from the snapshot
        pr.becomeProbe();
        // Wait for the follower's answer (or a heartbeat) before the next MsgApp.
        pr.msgAppFlowPaused = true;
        return true;
      case 'MsgUnreachable':
        // With optimistic replication a MsgApp to an unreachable node was most likely lost.
        if (pr.state === 'replicate') pr.becomeProbe();
        return true;
      case 'MsgTransferLeader': {
        if (pr.isLearner) return true;
        const transferee = m.from;
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) return true;
          this.abortLeaderTransfer();
        }
        if (transferee === this.id) return true;
        // The transfer must finish within an election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
        else this.sendAppend(transferee);
        return true;
      }
      default:
        return true;
    }
  }

  private stepLeaderPropose(m: Message): boolean {
    if (m.entries.length === 0) throw new Error(`${this.id} stepped empty MsgProp`);
    if (!this.trk.progress.has(this.id)) {
      // Removed from the configuration while leader: drop new proposals.
      return false;
    }
    if (this.leadTransferee !== NONE) return false;
    const ents = m.entries.map((e) => ({ ...e }));
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i] as Entry;
      if (e.type !== 'confChange') continue;
      const cc = decodeConfChange(e.data);
      const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
      const alreadyJoint = this.trk.isJoint();
      const wantsLeaveJoint = cc.changes.length === 0;
      let failed = '';
      if (alreadyPending) failed = 'possible unapplied conf change';
      else if (alreadyJoint && !wantsLeaveJoint) failed = 'must transition out of joint config first';
      else if (!alreadyJoint && wantsLeaveJoint) failed = 'not in joint state; refusing empty conf change';
      if (failed !== '') {
        // Keep the slot (the proposer waits on it) but make it a no-op.
        this.logger.info(`${this.id} ignoring conf change at ${this.raftLog.lastIndex() + i + 1}: ${failed}`);
        ents[i] = { index: 0, term: 0, type: 'normal', data: new Uint8Array(0) };
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
      }
    }
    if (!this.appendEntry(ents)) return false;
    this.bcastAppend();
    return true;
  }

  private stepCandidate(m: Message): boolean {
    // Only the responses to our own kind of campaign count.
    const myVoteRespType = this.state === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
    switch (m.type) {
      case 'MsgProp':
        return false;
      case 'MsgApp':
        this.becomeFollower(m.term, m.from); // m.term === this.term here
        this.handleAppendEntries(m);
        return true;
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return true;
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return true;
      case 'MsgPreVoteResp':
      case 'MsgVoteResp': {
        if (m.type !== myVoteRespType) return true;
        const res = this.poll(m.from, m.type, !m.reject);
        if (res === 'won') {
          if (this.state === 'preCandidate') {
            this.campaign('election');
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === 'lost') {
          // A pre-vote response carries a future term; keep ours.
          this.becomeFollower(this.term, NONE);
        }
        return true;
      }
      default:
        return true;
    }
  }

  private stepFollower(m: Message): boolean {
    switch (m.type) {
      case 'MsgProp':
        if (this.lead === NONE || this.disableProposalForwarding) return false;
        this.send({ ...m, to: this.lead });
        return true;
      case 'MsgApp':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return true;
      case 'MsgHeartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return true;
      case 'MsgSnap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return true;
      case 'MsgTransferLeader':
        if (this.lead === NONE) return true;
        this.send({ ...m, to: this.lead });
        return true;
      case 'MsgTimeoutNow':
        // Transfers skip pre-vote: we know the leader wants us to take over.
        this.hup('transfer');
        return true;
      case 'MsgReadIndex':
        if (this.lead === NONE) return true;
        this.send({ ...m, to: this.lead });
        return true;
      case 'MsgReadIndexResp': {
        const e = m.entries[0];
        if (m.entries.length !== 1 || e === undefined) return true;
        this.readStates.push({ index: m.index, requestCtx: e.data });
        return true;
      }
      default:
        return true;
    }
  }

  // ---- follower handlers ------------------------------------------------------------------

  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(message({ type: 'MsgAppResp', to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(message({ type: 'MsgAppResp', to: m.from, index: lastNew }));
      return;
    }
    // Our log does not match at m.index. Hint the largest (index, term) at or below it whose
    // term is <= m.logTerm: the leader can skip all its entries between there and m.index.
    const hint = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm);
    this.send(
      message({ type: 'MsgAppResp', to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(message({ type: 'MsgHeartbeatResp', to: m.from, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === undefined) return;
    const outcome = this.restore(s);
    if (outcome === 'restored') {
      this.logger.info(`${this.id} restored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`);
      this.send(message({ type: 'MsgAppResp', to: m.from, index: this.raftLog.lastIndex() }));
    } else if (outcome === 'stale') {
      this.send(message({ type: 'MsgAppResp', to: m.from, index: this.raftLog.committed }));
    }
    // 'refused' (we are not in its membership): no answer. Answering with our commit index
    // would put the leader straight back into replicate state and into sending the same
    // snapshot again at once; silent, it retries after the snapshot status and a heartbeat,
    // by when the application may have a snapshot that lists us.
  }

  /**
   * Installs a snapshot from the leader. 'stale': we already have it (maybe just its last
   * entry, then the commit index moves up to it); 'refused': it does not list us as a member.
   */
  restore(s: Snapshot): 'restored' | 'stale' | 'refused' {
    if (s.metadata.index <= this.raftLog.committed) return 'stale';
    if (this.state !== 'follower') {
      // Defense in depth: only a follower restores; anything else is a bug upstream.
      this.becomeFollower(this.term + 1, NONE);
      return 'refused';
    }
    if (this.raftLog.applying > this.raftLog.applied) {
      // The application is applying committed entries from a Ready not yet advanced; among them
      // may be conf changes that it will hand back through applyConfChange. Installing a
      // snapshot's membership now would let those land on top of it. Refuse; the leader
      // retries after the snapshot status and a heartbeat, by when they are applied.
      return 'refused';
    }
    const cs = s.metadata.confState;
    const member = [cs.voters, cs.learners, cs.votersOutgoing].some((set) => set.includes(this.id));
    if (!member) {
      this.logger.warn(`${this.id} attempted to restore snapshot but it is not in the ConfState`);
      return 'refused';
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We have the entry already: just fast-forward the commit index.
      this.raftLog.commitTo(s.metadata.index);
      return 'stale';
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    const r = restoreConfig({ tracker: this.trk, lastIndex: this.raftLog.lastIndex() }, cs);
    this.switchToConfig(r);
    return 'restored';
  }

  // ---- membership -------------------------------------------------------------------------

  applyConfChange(cc: ConfChange): ConfState {
    const changer = { tracker: this.trk, lastIndex: this.raftLog.lastIndex() };
    let r: ConfChangeResult;
    const joint = confChangeEntersJoint(cc);
    if (confChangeLeavesJoint(cc)) r = leaveJoint(changer);
    else if (joint !== undefined) r = enterJoint(changer, joint.autoLeave, cc.changes);
    else r = simple(changer, cc.changes);
    return this.switchToConfig(r);
  }

  private switchToConfig(r: ConfChangeResult): ConfState {
    this.trk.config = r.config;
    this.trk.progress = r.progress;
    const cs = confStateOf(this.trk.config);
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if (this.state !== 'leader' || cs.voters.length === 0) return cs;
    if (pr === undefined || this.isLearner) {
      // Removed or demoted while leading. Stepping down at once could strand the remaining
      // voters: they may not know yet that the change committed, and so still need our vote
      // (or a learner's) under the old configuration. Keep leading, counting only the new
      // voters, and hand leadership to the most caught-up voter.
      this.handOffLeadership();
    }
    if (this.maybeCommit()) {
      // The new quorum may already hold more entries.
      this.bcastAppend();
    } else {
      // Probe new members now rather than at the next heartbeat.
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== NONE && !this.trk.voterIds().includes(this.leadTransferee)) {
      this.abortLeaderTransfer();
      if (this.removedOrDemoted()) this.handOffLeadership();
    }
    return cs;
  }

  /** This node is no longer a voter (it may still lead until it hands over). */
  removedOrDemoted(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr === undefined || pr.isLearner;
  }

  /** Starts a leadership transfer to the voter with the highest match index. */
  private handOffLeadership(): void {
    if (this.leadTransferee !== NONE) return;
    let best = NONE;
    let bestMatch = -1;
    for (const id of this.trk.voterIds()) {
      const pr = this.trk.progress.get(id);
      if (id === this.id || pr === undefined || pr.isLearner) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    if (best === NONE) return;
    this.logger.info(`${this.id} is no longer a voter; handing leadership to ${best}`);
    this.electionElapsed = 0;
    this.leadTransferee = best;
    if (bestMatch === this.raftLog.lastIndex()) this.sendTimeoutNow(best);
    else this.sendAppend(best);
  }

  // ---- leader helpers ---------------------------------------------------------------------

  /** Appends entries stamped with this term; false if the uncommitted-size limit refuses them. */
  appendEntry(es: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    const stamped = es.map((e, i) => ({ ...e, term: this.term, index: li + 1 + i }));
    if (!this.increaseUncommittedSize(stamped)) {
      this.logger.warn(`${this.id} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`);
      return false;
    }
    this.raftLog.append(stamped);
    // The leader does not count its own copy yet: it acknowledges itself in persisted(), once
    // the Ready holding these entries is durable (etcd's self-addressed MsgAppResp). Counting
    // earlier would let a one-voter cluster "commit" an entry that a crash then loses.
    return true;
  }

  /**
   * The application made the log durable up to (index, term) (RaftCore.advance). A leader
   * counts its own copy now; that may commit entries.
   */
  persisted(index: number, term: number): void {
    if (this.state !== 'leader' || !this.raftLog.matchTerm(index, term)) return;
    const self = this.trk.progress.get(this.id);
    if (self === undefined || !self.maybeUpdate(index)) return;
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    }
  }

  private increaseUncommittedSize(ents: Entry[]): boolean {
    let s = 0;
    for (const e of ents) s += payloadSize(e);
    // Always accept an empty payload (the leader's first entry, auto-leave) or the first batch.
    if (this.uncommittedSize > 0 && s > 0 && this.maxUncommittedSize > 0 && this.uncommittedSize + s > this.maxUncommittedSize) {
      return false;
    }
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(ents: Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let s = 0;
    for (const e of ents) s += payloadSize(e);
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendReadIndexResponse(m);
  }

  private sendReadIndexResponse(m: Message): void {
    if (this.trk.isSingleton() && this.trk.config.voters[0].has(this.id)) {
      // The only voter is us: nobody else can lead, no round of heartbeats needed. (A leader
      // that was removed and still leads while handing over sees a one-voter config that is
      // not itself, and must confirm.)
      this.respondToReadIndex(m, this.raftLog.committed);
    } else if (this.readOnly.option === 'safe') {
      const ctx = m.entries[0]?.data;
      this.readOnly.addRequest(this.raftLog.committed, m);
      this.readOnly.recvAck(this.id, ctx);
      this.bcastHeartbeatWithCtx(ctx);
    } else {
      this.respondToReadIndex(m, this.raftLog.committed);
    }
  }

  private respondToReadIndex(req: Message, readIndex: number): void {
    const e = req.entries[0];
    if (e === undefined) return;
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: e.data });
      return;
    }
    this.send(message({ type: 'MsgReadIndexResp', to: req.from, index: readIndex, entries: req.entries }));
  }

  private sendTimeoutNow(to: number): void {
    this.send(message({ type: 'MsgTimeoutNow', to }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }
}
