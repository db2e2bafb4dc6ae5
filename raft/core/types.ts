/**
 * The values the Raft core exchanges with its caller: log entries, messages, the durable
 * hard state, snapshots and membership. Plain data (no classes) so that a simulator, a
 * write-ahead log and a transport can copy, store and print them without help.
 */

/** Node ids are positive integers; 0 means "nobody" (no leader, no vote). */
export const NONE = 0;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Application payload, or for `confChange` entries an encoded `ConfChange`. */
  data: Uint8Array;
}

export type MessageType =
  | 'MsgHup' // local: start an election
  | 'MsgBeat' // local: leader, send heartbeats
  | 'MsgProp' // a proposal (local, or forwarded by a follower; carries no term)
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgUnreachable' // local: the transport could not reach `from`
  | 'MsgSnapStatus' // local: a snapshot to `from` was sent (or failed, reject)
  | 'MsgCheckQuorum' // local: leader, step down unless a quorum was heard from
  | 'MsgTransferLeader'
  | 'MsgTimeoutNow'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp';

export interface Message {
  type: MessageType;
  to: number;
  from: number;
  /** 0 for local messages and for MsgProp/MsgReadIndex, which are forwarded as local. */
  term: number;
  /** MsgApp: term of the entry at `index`. MsgVote: the candidate's last term. Reject: hint term. */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot | undefined;
  reject: boolean;
  rejectHint: number;
  /** Read-index request id on heartbeats; 'CampaignTransfer' on forced votes. */
  context?: Uint8Array | undefined;
}

export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

export type StateRole = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface SoftState {
  lead: number;
  state: StateRole;
}

/** Membership as stored in snapshots and returned after applying a configuration change. */
export interface ConfState {
  voters: number[];
  learners: number[];
  /** Voters of the outgoing half while the configuration is joint. */
  votersOutgoing: number[];
  /** Outgoing voters that become learners when the joint configuration is left. */
  learnersNext: number[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export type ConfChangeType = 'addNode' | 'addLearner' | 'removeNode';

export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: number;
}

/**
 * How a change moves between configurations. 'auto': a single change applies directly (one at a
 * time), several go through a joint configuration that the leader leaves on its own. 'implicit'
 * and 'explicit' always use joint consensus; 'explicit' waits for an empty ConfChange to leave.
 */
export type ConfChangeTransition = 'auto' | 'implicit' | 'explicit';

export interface ConfChange {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  context?: string | undefined;
}

/** The answer to a ReadIndex request: reads are linearizable once `index` is applied. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array(0) };
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

export function isEmptyHardState(h: HardState): boolean {
  return h.term === 0 && h.vote === 0 && h.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** A message with every optional field zeroed; callers fill what they need. */
export function message(fields: Partial<Message> & { type: MessageType }): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

export function entry(fields: Partial<Entry> & { index: number; term: number }): Entry {
  return { type: 'normal', data: new Uint8Array(0), ...fields };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Conf changes travel in entries as JSON; an empty payload is the empty "leave joint" change. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify(cc));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length === 0) return { transition: 'auto', changes: [] };
  const v = JSON.parse(decoder.decode(data)) as ConfChange;
  return { transition: v.transition, changes: v.changes, context: v.context };
}

/** Whether a change leaves a joint configuration (an empty 'auto' change). */
export function confChangeLeavesJoint(cc: ConfChange): boolean {
  return cc.transition === 'auto' && cc.changes.length === 0 && (cc.context ?? '') === '';
}

/** Whether a change enters a joint configuration, and whether the leader leaves it by itself. */
export function confChangeEntersJoint(cc: ConfChange): { autoLeave: boolean } | undefined {
  if (cc.transition !== 'auto' || cc.changes.length > 1) {
    return { autoLeave: cc.transition !== 'explicit' };
  }
  return undefined;
}

/** Bytes an entry counts for in message-size and uncommitted-size limits. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}

export function payloadSize(e: Entry): number {
  return e.data.length;
}

export function isLocalMessage(t: MessageType): boolean {
  return (
    t === 'MsgHup' ||
    t === 'MsgBeat' ||
    t === 'MsgUnreachable' ||
    t === 'MsgSnapStatus' ||
    t === 'MsgCheckQuorum'
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === 'MsgAppResp' ||
    t === 'MsgVoteResp' ||
    t === 'MsgHeartbeatResp' ||
    t === 'MsgUnreachable' ||
    t === 'MsgPreVoteResp'
  );
}

export function voteResponseType(t: MessageType): MessageType {
  if (t === 'MsgVote') return 'MsgVoteResp';
  if (t === 'MsgPreVote') return 'MsgPreVoteResp';
  throw new Error(`not a vote message: ${t}`);
}
