/**
 * A deterministic simulator: N RaftCores in one process over a seeded, faulty network, with
 * crashes that lose everything not persisted through a Ready, partitions, membership changes,
 * leadership transfers and ReadIndex reads. Same seed, same run: a failing seed replays exactly.
 *
 * A run has a chaos phase (faults on) and a calm phase (network healed, every node restarted)
 * that must end with all members applying the same entries: safety is checked after every
 * step, liveness once at the end.
 */
import { TscError } from '../../lib/errors.js';
import { RaftCore, type Ready } from '../core/raft-core.js';
import { seededRand } from '../core/rand.js';
import {
  type ConfChange,
  type ConfChangeSingle,
  type Entry,
  type HardState,
  type Message,
  decodeConfChange,
  emptyConfState,
} from '../core/types.js';
import { MemoryStorage } from '../storage.js';
import { InvariantChecker, InvariantViolation, chainHash } from './invariants.js';
import { KvClients, type KvState, applyKv, decodeKvState, emptyKvState, encodeKvState } from './kv-clients.js';
import { SimNetwork } from './network.js';

export interface SimOptions {
  seed: number;
  /** Time units of faults (a node ticks about every other unit). */
  chaosSteps?: number;
  /** Time units allowed for the calm phase to converge. */
  calmSteps?: number;
  /** Serve client gets from local state without ReadIndex: a bug the checker must catch. */
  unsafeLocalReads?: boolean;
  /**
   * A pipelining leader counts its own copy before its write is durable: a bug the invariants
   * must catch (a crash loses an entry that was counted as committed).
   */
  unsafeEarlySelfCount?: boolean;
  /** Print every event (for replaying a failing seed). */
  trace?: (line: string) => void;
}

export interface SimStats {
  seed: number;
  nodes: number;
  steps: number;
  messages: number;
  dropped: number;
  crashes: number;
  partitions: number;
  proposals: number;
  committed: number;
  confChanges: number;
  snapshotsSent: number;
  reads: number;
  /** Client operations that completed (and went into the linearizability check). */
  kvOps: number;
  leaderTerms: number;
  checks: number;
}

interface SimNode {
  id: number;
  storage: MemoryStorage;
  core: RaftCore | undefined;
  incarnation: number;
  smIndex: number;
  smHash: number;
  seenCommit: number;
  snapEvery: number;
  /** A slow disk: a Ready may stay half-done over several steps while messages keep arriving. */
  slowDisk: boolean;
  pending: Ready | undefined;
  kv: KvState;
  /**
   * Pipelines its writes while leader (node.ts's default): a leader's Ready is sent, applied
   * and advanced at once, its write completes some steps later (then the leader counts its own
   * copy and the Ready's other messages leave), and a crash meanwhile loses it.
   */
  pipeline: boolean;
  /** Pipelined writes not yet durable, oldest first. */
  writes: PendingWrite[];
  /** The role as of the last Ready handled. */
  role: string;
  /** What storage holds durably: its last index and hard state (restored on a crash). */
  durableLast: number;
  durableHard: HardState;
}

interface PendingWrite {
  entries: Entry[];
  hardState: HardState | undefined;
  later: Message[];
}

const LEADER_MESSAGES = new Set(['MsgApp', 'MsgHeartbeat', 'MsgTimeoutNow']);

const enc = new TextEncoder();

function isDropped(e: unknown): boolean {
  return e instanceof TscError && e.code === 'ERR_RAFT';
}

function encodeSnapshotData(index: number, hash: number, kv: KvState = emptyKvState()): Uint8Array {
  return enc.encode(JSON.stringify({ index, hash, kv: encodeKvState(kv) }));
}

function decodeSnapshotData(data: Uint8Array): { index: number; hash: number; kv: KvState } {
  if (data.length === 0) return { index: 0, hash: 0, kv: emptyKvState() };
  const v = JSON.parse(new TextDecoder().decode(data)) as { index: number; hash: number; kv: unknown };
  return { index: v.index, hash: v.hash, kv: decodeKvState(v.kv) };
}

export class Simulation {
  readonly rng;
  readonly net: SimNetwork;
  readonly check = new InvariantChecker();
  readonly nodes = new Map<number, SimNode>();
  readonly initialVoters: number[];
  now = 0;
  private readonly electionTick: number;
  /** Mostly the defaults (both on); some seeds turn them off: safety must not depend on them. */
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly tickProb: number;
  private readonly faultScale: number;
  private readonly reads = new Map<string, number>();
  private proposalSeq = 0;
  readonly stats: SimStats;
  readonly clients: KvClients;
  private readonly trace: ((line: string) => void) | undefined;

  constructor(readonly opts: SimOptions) {
    this.rng = seededRand(opts.seed);
    const r = this.rng;
    const n = r.float() < 0.6 ? 3 : 5;
    const pool = n + 2;
    this.initialVoters = Array.from({ length: n }, (_, i) => i + 1);
    this.electionTick = r.float() < 0.5 ? 10 : 5;
    this.preVote = r.float() < 0.8;
    this.checkQuorum = r.float() < 0.8;
    this.tickProb = 0.3 + r.float() * 0.4;
    this.faultScale = 0.5 + r.float();
    this.net = new SimNetwork(r, {
      drop: r.float() * 0.15,
      duplicate: r.float() * 0.05,
      maxDelay: r.intn(5),
    });
    this.trace = opts.trace;
    this.clients = new KvClients(r, 3, opts.unsafeLocalReads ?? false);
    // Its own generator, so that a seed's other draws are what they were before pipelining.
    const pipelineRng = seededRand(opts.seed * 2654435761 + 17);
    for (let id = 1; id <= pool; id++) {
      // Initial voters start from a bootstrap snapshot at index 1 holding the membership; nodes
      // added later start empty and learn everything from a leader's snapshot.
      const storage = new MemoryStorage();
      if (id <= n) {
        storage.applySnapshot({
          metadata: { index: 1, term: 1, confState: { ...emptyConfState(), voters: this.initialVoters } },
          data: encodeSnapshotData(1, 0),
        });
      }
      const node: SimNode = {
        id,
        storage,
        core: undefined,
        incarnation: 0,
        smIndex: 0,
        smHash: 0,
        seenCommit: 0,
        snapEvery: 3 + r.intn(30),
        slowDisk: r.float() < 0.3,
        pending: undefined,
        kv: emptyKvState(),
        pipeline: pipelineRng.float() < 0.5,
        writes: [],
        role: 'follower',
        durableLast: storage.lastIndex(),
        durableHard: storage.initialState().hardState,
      };
      this.nodes.set(id, node);
      this.start(node);
    }
    this.stats = {
      seed: opts.seed,
      nodes: n,
      steps: 0,
      messages: 0,
      dropped: 0,
      crashes: 0,
      partitions: 0,
      proposals: 0,
      committed: 0,
      confChanges: 0,
      snapshotsSent: 0,
      reads: 0,
      kvOps: 0,
      leaderTerms: 0,
      checks: 0,
    };
  }

  private log(line: string): void {
    this.trace?.(`[t=${this.now}] ${line}`);
  }

  private start(node: SimNode): void {
    node.incarnation++;
    node.pending = undefined;
    node.role = 'follower';
    const snap = node.storage.snapshot();
    node.core = new RaftCore({
      id: node.id,
      storage: node.storage,
      rand: seededRand(this.opts.seed * 7919 + node.id * 104729 + node.incarnation),
      electionTick: this.electionTick,
      heartbeatTick: 1,
      preVote: this.preVote,
      checkQuorum: this.checkQuorum,
      maxSizePerMsg: 64 + this.rng.intn(256),
      maxInflightMsgs: 1 + this.rng.intn(8),
      // The state machine is rebuilt from the snapshot: entries after it are applied again.
      applied: snap.metadata.index,
    });
    const sm = decodeSnapshotData(snap.data);
    node.smIndex = snap.metadata.index;
    node.smHash = sm.hash;
    node.kv = sm.kv;
    node.seenCommit = node.core.raft.raftLog.committed;
  }

  private crash(node: SimNode): void {
    if (node.core === undefined) return;
    this.log(`crash ${node.id}`);
    this.stats.crashes++;
    node.core = undefined;
    node.pending = undefined;
    if (node.writes.length > 0) {
      // The pipelined writes in flight are lost: storage goes back to what was durable.
      this.log(`crash ${node.id} loses ${node.writes.length} pipelined writes after ${node.durableLast}`);
      node.writes = [];
      node.storage.truncateAfter(node.durableLast);
      node.storage.setHardState(node.durableHard);
    }
    this.clients.crashed(node.id);
  }

  private alive(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.core !== undefined);
  }

  private leaders(): SimNode[] {
    return this.alive().filter((n) => n.core?.raft.state === 'leader');
  }

  /** One time unit: ticks, deliveries, faults, Ready handling, invariant checks. */
  step(chaos: boolean): void {
    this.now++;
    this.stats.steps++;
    const r = this.rng;
    for (const n of this.alive()) if (r.float() < this.tickProb) n.core?.tick();

    for (const m of this.net.due(this.now, (lost) => this.lost(lost))) this.deliver(m);

    if (chaos) this.faults();
    this.clientActions(chaos);

    for (const n of this.alive()) this.handleReady(n, chaos);
    this.observe();
  }

  private lost(m: Message): void {
    const sender = this.nodes.get(m.from);
    if (sender?.core === undefined) return;
    if (m.type === 'MsgSnap') sender.core.reportSnapshot(m.to, 'failure');
    if (this.rng.float() < 0.3) sender.core.reportUnreachable(m.to);
  }

  private deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    if (to?.core === undefined) {
      this.lost(m);
      return;
    }
    this.stats.messages++;
    to.core.step(m);
    if (m.type === 'MsgSnap') {
      this.stats.snapshotsSent++;
      this.nodes.get(m.from)?.core?.reportSnapshot(m.to, 'finish');
    }
  }

  private faults(): void {
    const r = this.rng;
    const s = this.faultScale;
    const nodes = [...this.nodes.values()];
    if (r.float() < 0.003 * s) {
      const n = nodes[r.intn(nodes.length)] as SimNode;
      this.crash(n);
    }
    for (const n of nodes) {
      if (n.core === undefined && r.float() < 0.02) {
        this.log(`restart ${n.id}`);
        this.start(n);
      }
    }
    if (r.float() < 0.003 * s) {
      this.stats.partitions++;
      const sides = this.net.partition([...this.nodes.keys()]);
      this.log(`partition ${JSON.stringify(sides)}`);
    }
    if (r.float() < 0.0015 * s) {
      const n = nodes[r.intn(nodes.length)] as SimNode;
      this.stats.partitions++;
      this.net.isolate(n.id);
      this.log(`isolate ${n.id}`);
    }
    if (r.float() < 0.01) {
      this.net.heal();
      this.log('heal');
    }
  }

  private clientActions(chaos: boolean): void {
    const r = this.rng;
    const alive = this.alive();
    if (alive.length === 0) return;
    if (r.float() < 0.12) {
      const n = alive[r.intn(alive.length)] as SimNode;
      const data = `p${this.opts.seed}-${++this.proposalSeq}`;
      try {
        n.core?.propose(enc.encode(data));
        this.stats.proposals++;
      } catch (e) {
        if (!isDropped(e)) throw e;
      }
    }
    if (r.float() < 0.02) {
      const n = alive[r.intn(alive.length)] as SimNode;
      const ctx = `r${++this.proposalSeq}`;
      // A linearizable read must see every write committed before it started.
      this.reads.set(ctx, this.check.maxCommitted());
      n.core?.readIndex(enc.encode(ctx));
    }
    this.clients.expire(this.now);
    const pick = (): number | undefined => alive[r.intn(alive.length)]?.id;
    for (const req of this.clients.issue(this.now, pick)) {
      const core = this.nodes.get(req.node)?.core as RaftCore;
      if (req.put !== undefined) {
        try {
          core.propose(enc.encode(req.put));
        } catch (e) {
          if (!isDropped(e)) throw e;
          this.clients.refused(req.client);
        }
      } else if (req.readCtx !== undefined) {
        this.clients.tagRead(req.client, req.readCtx);
        this.reads.set(req.readCtx, this.check.maxCommitted());
        core.readIndex(enc.encode(req.readCtx));
      }
    }
    const leaders = this.leaders();
    const leader = leaders[r.intn(Math.max(leaders.length, 1))];
    if (leader?.core === undefined) return;
    if (chaos && r.float() < 0.004) this.proposeConfChange(leader);
    if (chaos && r.float() < 0.002) {
      const voters = leader.core.status().config.voters;
      const to = voters[r.intn(voters.length)] as number;
      this.log(`transfer leadership ${leader.id} -> ${to}`);
      leader.core.transferLeader(to);
    }
  }

  private proposeConfChange(leader: SimNode): void {
    const r = this.rng;
    const core = leader.core as RaftCore;
    const cfg = core.status().config;
    const ids = [...this.nodes.keys()];
    const members = new Set([...cfg.voters, ...cfg.learners]);
    const pick = (xs: number[]): number | undefined => xs[r.intn(xs.length)];
    const one = (): ConfChangeSingle | undefined => {
      const k = r.intn(4);
      if (k === 0) {
        const id = pick(ids.filter((i) => !members.has(i)));
        return id === undefined ? undefined : { type: 'addLearner', nodeId: id };
      }
      if (k === 1) {
        const id = pick(cfg.learners);
        return id === undefined ? undefined : { type: 'addNode', nodeId: id };
      }
      if (k === 2) {
        const id = pick(ids.filter((i) => !cfg.voters.includes(i)));
        return id === undefined ? undefined : { type: 'addNode', nodeId: id };
      }
      // Remove (or demote) someone, keeping at least two voters.
      if (cfg.voters.length <= 2) return undefined;
      const id = pick([...members]);
      if (id === undefined) return undefined;
      return r.float() < 0.3 && cfg.voters.includes(id) ? { type: 'addLearner', nodeId: id } : { type: 'removeNode', nodeId: id };
    };
    const first = one();
    if (first === undefined) return;
    const changes = [first];
    let transition: ConfChange['transition'] = 'auto';
    if (r.float() < 0.3) {
      const second = one();
      if (second !== undefined && second.nodeId !== first.nodeId) changes.push(second);
      transition = r.float() < 0.5 ? 'auto' : 'implicit';
    }
    const cc: ConfChange = { transition, changes };
    this.log(`propose conf change at ${leader.id}: ${JSON.stringify(cc)}`);
    try {
      core.proposeConfChange(cc);
      this.stats.confChanges++;
    } catch (e) {
      if (!isDropped(e)) throw e;
    }
  }

  /** Completes the oldest pipelined write (all of them with `all`). */
  private completeWrites(n: SimNode, core: RaftCore, all: boolean): void {
    while (n.writes.length > 0) {
      const w = n.writes.shift() as PendingWrite;
      const last = w.entries[w.entries.length - 1];
      if (last !== undefined) n.durableLast = last.index;
      if (w.hardState !== undefined) {
        n.durableHard = w.hardState;
        this.check.hardState(n.id, w.hardState);
      }
      this.check.persisted(n.id, w.entries, (i) => this.storageTerm(n, i));
      if (last !== undefined) core.persisted(last.index, last.term);
      this.net.send(this.now, w.later, (lost) => this.lost(lost));
      if (!all) return;
    }
  }

  /** node.ts's RaftNode.canPipeline: a leader's Ready without snapshot, new term or vote. */
  private canPipeline(n: SimNode, rd: Ready): boolean {
    if (!n.pipeline || rd.snapshot !== undefined) return false;
    if ((rd.softState?.state ?? n.role) !== 'leader') return false;
    const durable = n.storage.initialState().hardState;
    return rd.hardState === undefined || (rd.hardState.term === durable.term && rd.hardState.vote === durable.vote);
  }

  private handleReady(n: SimNode, chaos: boolean): void {
    const core = n.core;
    if (core === undefined) return;
    if (n.writes.length > 0 && (!chaos || !n.slowDisk || this.rng.float() < 0.3)) this.completeWrites(n, core, false);
    if (n.pending === undefined) {
      if (!core.hasReady()) return;
      n.pending = core.ready();
      if (this.canPipeline(n, n.pending)) {
        const rd = n.pending;
        n.pending = undefined;
        this.handlePipelined(n, core, rd);
        return;
      }
    }
    // A slow disk is still writing: the node keeps stepping messages meanwhile, so its log may
    // change under the Ready being persisted (advance must cope).
    if (chaos && n.slowDisk && this.rng.float() < 0.5) return;
    // The strict order waits for the pipelined writes before it.
    if (n.writes.length > 0) this.completeWrites(n, core, true);
    if (n.core === undefined) return;
    const rd = n.pending;
    n.pending = undefined;
    if (rd.softState !== undefined) n.role = rd.softState.state;
    // 1. persist
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) {
      n.storage.setHardState(rd.hardState);
      this.check.hardState(n.id, rd.hardState);
    }
    this.check.persisted(n.id, rd.entries, (i) => this.storageTerm(n, i));
    n.durableLast = n.storage.lastIndex();
    n.durableHard = n.storage.initialState().hardState;
    if (chaos && this.rng.float() < 0.002) {
      // Crash after the write, before the messages leave.
      this.crash(n);
      return;
    }
    // 2. send
    this.net.send(this.now, rd.messages, (lost) => this.lost(lost));
    // 3. apply
    if (rd.snapshot !== undefined) {
      const sm = decodeSnapshotData(rd.snapshot.data);
      if (sm.index !== rd.snapshot.metadata.index) {
        throw new InvariantViolation(`snapshot at ${rd.snapshot.metadata.index} carries state of ${sm.index}`);
      }
      n.smIndex = sm.index;
      n.smHash = sm.hash;
      n.kv = sm.kv;
      this.check.applied(n.id, n.smIndex, n.smHash);
    }
    for (const e of rd.committedEntries) this.apply(n, core, e);
    this.serveReadStates(n, rd);
    // 4. advance
    core.advance();
    this.maybeSnapshot(n, core, rd);
  }

  private serveReadStates(n: SimNode, rd: Ready): void {
    for (const rs of rd.readStates) {
      const ctx = new TextDecoder().decode(rs.requestCtx);
      if (ctx.startsWith('kv')) this.clients.readState(n.id, ctx, rs.index);
      const floor = this.reads.get(ctx);
      this.stats.reads++;
      if (floor !== undefined && rs.index < floor) {
        throw new InvariantViolation(`read index safety: read ${ctx} got index ${rs.index}, but ${floor} was committed before it began`);
      }
    }
    this.clients.serveReads(n.id, n.smIndex, n.kv, this.now);
  }

  /**
   * A pipelined leader Ready: leader messages leave now, committed entries are applied now, the
   * entries go to the storage the core reads (not yet durable: a crash takes them back), and
   * the write completes in a later step.
   */
  private handlePipelined(n: SimNode, core: RaftCore, rd: Ready): void {
    const now: Message[] = [];
    const later: Message[] = [];
    for (const m of rd.messages) (LEADER_MESSAGES.has(m.type) ? now : later).push(m);
    this.net.send(this.now, now, (lost) => this.lost(lost));
    if (rd.softState !== undefined) n.role = rd.softState.state;
    for (const e of rd.committedEntries) this.apply(n, core, e);
    this.serveReadStates(n, rd);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    n.writes.push({ entries: rd.entries, hardState: rd.hardState, later });
    core.advance({ persisted: this.opts.unsafeEarlySelfCount === true });
    // node.ts waits for its writes before a snapshot.
    if (this.snapshotDue(n, rd)) {
      this.completeWrites(n, core, true);
      this.maybeSnapshot(n, core, rd);
    }
  }

  private snapshotDue(n: SimNode, rd: Ready): boolean {
    const confChanged = rd.committedEntries.some((e) => e.type === 'confChange');
    const due = n.smIndex - n.storage.snapshot().metadata.index >= n.snapEvery;
    return (due || confChanged) && n.smIndex > n.storage.snapshot().metadata.index;
  }

  /**
   * Snapshot every snapEvery entries, and after each membership change so that the leader's
   * snapshot always lists the members it may have to send it to.
   */
  private maybeSnapshot(n: SimNode, core: RaftCore, rd: Ready): void {
    if (this.snapshotDue(n, rd)) this.snapshot(n, core);
  }

  private apply(n: SimNode, core: RaftCore, e: Entry): void {
    if (e.index !== n.smIndex + 1) {
      throw new InvariantViolation(`node ${n.id} applied entry ${e.index} after ${n.smIndex}`);
    }
    n.smIndex = e.index;
    n.smHash = chainHash(n.smHash, e);
    this.check.applied(n.id, n.smIndex, n.smHash);
    if (e.type === 'normal') {
      const id = applyKv(n.kv, new TextDecoder().decode(e.data));
      if (id !== undefined) this.clients.applied(n.id, id, this.now);
    }
    if (e.type === 'confChange') {
      const cs = core.applyConfChange(decodeConfChange(e.data));
      this.log(`node ${n.id} applied conf change at ${e.index}: ${JSON.stringify(cs)}`);
    }
  }

  private snapshot(n: SimNode, core: RaftCore): void {
    const cfg = core.status().config;
    n.storage.createSnapshot(n.smIndex, cfg, encodeSnapshotData(n.smIndex, n.smHash, n.kv));
    const keep = this.rng.intn(8);
    const compactTo = n.smIndex - keep;
    if (compactTo >= n.storage.firstIndex()) n.storage.compact(compactTo);
  }

  private storageTerm(n: SimNode, i: number): number | undefined {
    try {
      return n.storage.term(i);
    } catch {
      return undefined;
    }
  }

  private coreTerm(core: RaftCore, i: number): number | undefined {
    try {
      const log = core.raft.raftLog;
      if (i < log.firstIndex() - 1 || i > log.lastIndex()) return undefined;
      return log.term(i);
    } catch {
      return undefined;
    }
  }

  private observe(): void {
    for (const n of this.alive()) {
      const core = n.core as RaftCore;
      const raft = core.raft;
      const log = raft.raftLog;
      if (raft.state === 'leader') {
        this.check.leader(n.id, raft.term, (i) => this.coreTerm(core, i), log.firstIndex(), log.lastIndex());
      }
      if (log.committed !== n.seenCommit) {
        this.check.committedRange(n.id, raft.term, n.seenCommit, log.committed, (i) => this.coreTerm(core, i));
        n.seenCommit = log.committed;
      }
    }
  }

  /** Heals everything and waits until all members applied a fresh entry. */
  converge(): void {
    this.net.heal();
    this.net.faults = { drop: 0, duplicate: 0, maxDelay: 1 };
    for (const n of this.nodes.values()) if (n.core === undefined) this.start(n);
    this.log('calm phase');
    const limit = this.opts.calmSteps ?? 4000;
    let marker: number | undefined;
    for (let i = 0; i < limit; i++) {
      this.step(false);
      const leader = this.leaders().sort((a, b) => (b.core?.raft.term ?? 0) - (a.core?.raft.term ?? 0))[0];
      if (leader?.core === undefined) continue;
      const raft = leader.core.raft;
      if (marker === undefined || i % 50 === 0) {
        try {
          leader.core.propose(enc.encode(`marker-${i}`));
          marker ??= raft.raftLog.lastIndex();
        } catch (e) {
          if (!isDropped(e)) throw e;
        }
      }
      if (marker === undefined || raft.raftLog.committed < marker) continue;
      const cfg = leader.core.status().config;
      const members = [...new Set([...cfg.voters, ...cfg.votersOutgoing, ...cfg.learners])];
      const target = raft.raftLog.committed;
      if (members.every((id) => (this.nodes.get(id)?.smIndex ?? 0) >= target)) {
        this.finish();
        return;
      }
    }
    const state = [...this.nodes.values()]
      .map((n) => `${n.id}:${n.core?.raft.state}/t${n.core?.raft.term}/c${n.core?.raft.raftLog.committed}/a${n.smIndex}`)
      .join(' ');
    throw new InvariantViolation(`liveness: cluster did not converge within ${limit} calm steps (marker ${marker}): ${state}`);
  }

  private finish(): void {
    this.stats.dropped = this.net.dropped;
    this.stats.committed = this.check.committedCount();
    this.stats.leaderTerms = this.check.leaderTerms();
    this.stats.checks = this.check.checks;
  }

  run(): SimStats {
    const chaos = this.opts.chaosSteps ?? 2000;
    for (let i = 0; i < chaos; i++) this.step(true);
    this.converge();
    const bad = this.clients.check();
    if (bad !== undefined) throw new InvariantViolation(bad);
    this.stats.kvOps = this.clients.completed;
    return this.stats;
  }
}

/** Runs one seed; a violation is rethrown with the seed and how to replay it. */
export function runSeed(opts: SimOptions): SimStats {
  const sim = new Simulation(opts);
  try {
    return sim.run();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const err = new Error(`raft simulation failed at seed ${opts.seed}, t=${sim.now}: ${msg}\n  replay: RAFT_SEED=${opts.seed} npx vitest run raft/sim`);
    err.cause = e;
    throw err;
  }
}
