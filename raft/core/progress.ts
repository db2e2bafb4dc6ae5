/**
 * What the leader knows about each follower (etcd's tracker/). A follower is in one of three
 * states:
 *
 *   probe     : we do not know where its log ends; send one MsgApp per heartbeat and wait.
 *   replicate : its log matches ours up to Match; stream MsgApps (pipelining), bounded by
 *               Inflights.
 *   snapshot  : it needs entries we compacted away; a snapshot is on its way, send nothing.
 *
 *   probe --(append acked)--> replicate --(reject, unreachable)--> probe
 *   probe/replicate --(needs compacted entries)--> snapshot --(snapshot status / ack)--> probe
 */
import { Inflights } from './inflights.js';
import {
  type AckedIndexer,
  type JointConfig,
  type VoteResult,
  formatJoint,
  isJoint,
  jointCommittedIndex,
  jointIds,
  jointVoteResult,
} from './quorum.js';
import type { ConfState } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Highest index known to be in the follower's log. */
  match = 0;
  /** Next index to send. Invariant: match < next. */
  next = 1;
  state: ProgressState = 'probe';
  /** Index of the snapshot being sent while in snapshot state. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum (leader only). */
  recentActive = false;
  /** Probe: a probe is out, wait. Replicate: inflights are full. */
  msgAppFlowPaused = false;
  isLearner = false;
  inflights: Inflights;

  constructor(init: { next: number; match?: number; inflights: Inflights; isLearner?: boolean; recentActive?: boolean }) {
    this.next = init.next;
    this.match = init.match ?? 0;
    this.inflights = init.inflights;
    this.isLearner = init.isLearner ?? false;
    this.recentActive = init.recentActive ?? false;
  }

  clone(): Progress {
    const p = new Progress({ next: this.next, match: this.match, inflights: this.inflights.clone(), isLearner: this.isLearner });
    p.state = this.state;
    p.pendingSnapshot = this.pendingSnapshot;
    p.recentActive = this.recentActive;
    p.msgAppFlowPaused = this.msgAppFlowPaused;
    return p;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // Coming back from a snapshot, probe just past it: the follower most likely has it now.
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** Accounts for a MsgApp carrying `entries` entries starting at `nextIndex`. */
  updateOnEntriesSend(entries: number, bytes: number, nextIndex: number): void {
    switch (this.state) {
      case 'replicate':
        if (entries > 0) {
          const last = nextIndex + entries - 1;
          this.next = last + 1;
          this.inflights.add(last, bytes);
        }
        this.msgAppFlowPaused = this.inflights.full();
        break;
      case 'probe':
        if (entries > 0) this.msgAppFlowPaused = true;
        break;
      default:
        throw new Error(`sending append in unhandled state ${this.state}`);
    }
  }

  /** An ack for `n`: returns whether it moved Match (a stale ack does not). */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the MsgApp whose previous index was `rejected`; `matchHint` is the follower's
   * guess of where our logs agree. Returns false for a stale rejection.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // Stale if we already know it matches past the rejected index.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state one MsgApp is out at a time, and it was for next-1.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
      case 'replicate':
        return this.msgAppFlowPaused;
      case 'snapshot':
        return true;
    }
  }

  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    if (this.inflights.size() > 0) s += ` inflight=${this.inflights.size()}`;
    return s;
  }
}

export type ProgressMap = Map<number, Progress>;

/** A membership: voters (possibly joint) and learners. */
export interface TrackerConfig {
  voters: JointConfig;
  learners: ReadonlySet<number>;
  /** Outgoing voters to turn into learners when leaving the joint config. */
  learnersNext: ReadonlySet<number>;
  /** Leave the joint config as soon as it is applied (the leader proposes it). */
  autoLeave: boolean;
}

export function emptyTrackerConfig(): TrackerConfig {
  return { voters: [new Set(), new Set()], learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function cloneTrackerConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: [new Set(c.voters[0]), new Set(c.voters[1])],
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export function formatTrackerConfig(c: TrackerConfig): string {
  let s = `voters=${formatJoint(c.voters)}`;
  const sorted = (x: ReadonlySet<number>): string => [...x].sort((a, b) => a - b).join(' ');
  if (c.learners.size > 0) s += ` learners=(${sorted(c.learners)})`;
  if (c.learnersNext.size > 0) s += ` learners_next=(${sorted(c.learnersNext)})`;
  if (c.autoLeave) s += ' autoleave';
  return s;
}

const ascending = (a: number, b: number): number => a - b;

export function confStateOf(c: TrackerConfig): ConfState {
  return {
    voters: [...c.voters[0]].sort(ascending),
    votersOutgoing: [...c.voters[1]].sort(ascending),
    learners: [...c.learners].sort(ascending),
    learnersNext: [...c.learnersNext].sort(ascending),
    autoLeave: c.autoLeave,
  };
}

/** The configuration, every member's Progress, and the votes of the current election. */
export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  progress: ProgressMap = new Map();
  votes = new Map<number, boolean>();

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  newInflights(): Inflights {
    return new Inflights(this.maxInflight, this.maxInflightBytes);
  }

  isSingleton(): boolean {
    return this.config.voters[0].size === 1 && this.config.voters[1].size === 0;
  }

  /** The largest index a quorum of voters has in its log. */
  committed(): number {
    const acked: AckedIndexer = (id) => this.progress.get(id)?.match;
    return jointCommittedIndex(this.config.voters, acked);
  }

  /** Visits members in id order so that the messages they produce come out deterministically. */
  visit(f: (id: number, pr: Progress) => void): void {
    const ids = [...this.progress.keys()].sort(ascending);
    for (const id of ids) f(id, this.progress.get(id) as Progress);
  }

  /** Whether a quorum of voters was recently active (CheckQuorum). */
  quorumActive(): boolean {
    const votes = new Map<number, boolean>();
    this.visit((id, pr) => {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    });
    return jointVoteResult(this.config.voters, votes) === 'won';
  }

  voterIds(): number[] {
    return [...jointIds(this.config.voters)].sort(ascending);
  }

  isJoint(): boolean {
    return isJoint(this.config.voters);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  /** Records a vote; only the first vote of each voter in an election counts. */
  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.config.voters, this.votes) };
  }
}
