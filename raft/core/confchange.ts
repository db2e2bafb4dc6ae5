/**
 * Membership changes as pure functions: each takes the current configuration and progress map,
 * works on a copy, and returns the new pair (or throws, leaving the input untouched).
 *
 *   simple     : at most one voter changes; applies directly (one-at-a-time).
 *   enterJoint : C_old,new = (new voters) && (old voters); decisions need both majorities.
 *   leaveJoint : drop the outgoing half; staged learners (learnersNext) become learners.
 *
 * Safety of one-at-a-time changes rests on the leader not proposing a change while another is
 * unapplied, and on a new leader committing an entry of its own term first (raft.ts sets
 * pendingConfIndex to its last index on election: the known fix for the single-server bug).
 */
import { Progress, type ProgressMap, type ProgressTracker, type TrackerConfig, cloneTrackerConfig } from './progress.js';
import { isJoint } from './quorum.js';
import type { ConfChangeSingle, ConfState } from './types.js';

export interface Changer {
  tracker: Pick<ProgressTracker, 'config' | 'progress' | 'newInflights'>;
  /** The leader's last log index: new members are probed from there. */
  lastIndex: number;
}

export interface ConfChangeResult {
  config: TrackerConfig;
  progress: ProgressMap;
}

interface Mutable {
  voters: [Set<number>, Set<number>];
  learners: Set<number>;
  learnersNext: Set<number>;
  autoLeave: boolean;
}

function checkAndCopy(c: Changer): { cfg: Mutable; trk: ProgressMap } {
  const cfg = cloneTrackerConfig(c.tracker.config) as Mutable;
  const trk: ProgressMap = new Map();
  for (const [id, pr] of c.tracker.progress) trk.set(id, pr.clone());
  checkInvariants(cfg, trk);
  return { cfg, trk };
}

function checkInvariants(cfg: TrackerConfig, trk: ProgressMap): void {
  for (const ids of [cfg.voters[0], cfg.voters[1], cfg.learners, cfg.learnersNext]) {
    for (const id of ids) if (!trk.has(id)) throw new Error(`confchange: no progress for ${id}`);
  }
  // A staged learner is staged because it is still a voter in the outgoing config.
  for (const id of cfg.learnersNext) {
    if (!cfg.voters[1].has(id)) throw new Error(`confchange: ${id} is in learnersNext, but not outgoing voters`);
    if ((trk.get(id) as Progress).isLearner) throw new Error(`confchange: ${id} is in learnersNext, but is already marked as learner`);
  }
  for (const id of cfg.learners) {
    if (cfg.voters[1].has(id)) throw new Error(`confchange: ${id} is in learners and outgoing voters`);
    if (cfg.voters[0].has(id)) throw new Error(`confchange: ${id} is in learners and incoming voters`);
    if (!(trk.get(id) as Progress).isLearner) throw new Error(`confchange: ${id} is in learners, but is not marked as learner`);
  }
  if (!isJoint(cfg.voters)) {
    if (cfg.learnersNext.size > 0) throw new Error('confchange: learnersNext must be empty when not joint');
    if (cfg.autoLeave) throw new Error('confchange: autoLeave must be false when not joint');
  }
}

function done(cfg: Mutable, trk: ProgressMap): ConfChangeResult {
  checkInvariants(cfg, trk);
  return { config: cfg, progress: trk };
}

function initProgress(c: Changer, cfg: Mutable, trk: ProgressMap, id: number, isLearner: boolean): void {
  if (isLearner) cfg.learners.add(id);
  else cfg.voters[0].add(id);
  // Probe from the leader's last index. A new member counts as active so that CheckQuorum does
  // not hold it against the leader before it had a chance to answer.
  trk.set(
    id,
    new Progress({ next: Math.max(c.lastIndex, 1), inflights: c.tracker.newInflights(), isLearner, recentActive: true }),
  );
}

function remove(cfg: Mutable, trk: ProgressMap, id: number): void {
  if (!trk.has(id)) return;
  cfg.voters[0].delete(id);
  cfg.learners.delete(id);
  cfg.learnersNext.delete(id);
  // Still a voter in the outgoing half: keep its progress until the joint config is left.
  if (!cfg.voters[1].has(id)) trk.delete(id);
}

function makeVoter(c: Changer, cfg: Mutable, trk: ProgressMap, id: number): void {
  const pr = trk.get(id);
  if (pr === undefined) {
    initProgress(c, cfg, trk, id, false);
    return;
  }
  pr.isLearner = false;
  cfg.learners.delete(id);
  cfg.learnersNext.delete(id);
  cfg.voters[0].add(id);
}

function makeLearner(c: Changer, cfg: Mutable, trk: ProgressMap, id: number): void {
  const pr = trk.get(id);
  if (pr === undefined) {
    initProgress(c, cfg, trk, id, true);
    return;
  }
  if (pr.isLearner) return;
  remove(cfg, trk, id);
  trk.set(id, pr);
  // A voter of the outgoing half can only become a learner once that half is gone.
  if (cfg.voters[1].has(id)) {
    cfg.learnersNext.add(id);
  } else {
    pr.isLearner = true;
    cfg.learners.add(id);
  }
}

function apply(c: Changer, cfg: Mutable, trk: ProgressMap, ccs: readonly ConfChangeSingle[]): void {
  for (const cc of ccs) {
    if (cc.nodeId === 0) continue; // the application chose to skip this change
    switch (cc.type) {
      case 'addNode':
        makeVoter(c, cfg, trk, cc.nodeId);
        break;
      case 'addLearner':
        makeLearner(c, cfg, trk, cc.nodeId);
        break;
      case 'removeNode':
        remove(cfg, trk, cc.nodeId);
        break;
    }
  }
  if (cfg.voters[0].size === 0) throw new Error('confchange: removed all voters');
}

export function enterJoint(c: Changer, autoLeave: boolean, ccs: readonly ConfChangeSingle[]): ConfChangeResult {
  const { cfg, trk } = checkAndCopy(c);
  if (isJoint(cfg.voters)) throw new Error('confchange: config is already joint');
  if (cfg.voters[0].size === 0) throw new Error("confchange: can't make a zero-voter config joint");
  cfg.voters[1] = new Set(cfg.voters[0]);
  apply(c, cfg, trk, ccs);
  cfg.autoLeave = autoLeave;
  return done(cfg, trk);
}

export function leaveJoint(c: Changer): ConfChangeResult {
  const { cfg, trk } = checkAndCopy(c);
  if (!isJoint(cfg.voters)) throw new Error("confchange: can't leave a non-joint config");
  for (const id of cfg.learnersNext) {
    cfg.learners.add(id);
    (trk.get(id) as Progress).isLearner = true;
  }
  cfg.learnersNext = new Set();
  for (const id of cfg.voters[1]) {
    if (!cfg.voters[0].has(id) && !cfg.learners.has(id)) trk.delete(id);
  }
  cfg.voters[1] = new Set();
  cfg.autoLeave = false;
  return done(cfg, trk);
}

export function simple(c: Changer, ccs: readonly ConfChangeSingle[]): ConfChangeResult {
  const { cfg, trk } = checkAndCopy(c);
  if (isJoint(cfg.voters)) throw new Error("confchange: can't apply simple config change in joint config");
  apply(c, cfg, trk, ccs);
  const before = c.tracker.config.voters[0];
  let diff = 0;
  for (const id of before) if (!cfg.voters[0].has(id)) diff++;
  for (const id of cfg.voters[0]) if (!before.has(id)) diff++;
  if (diff > 1) throw new Error('confchange: more than one voter changed without entering joint config');
  return done(cfg, trk);
}

/**
 * Rebuilds a configuration from a ConfState (a snapshot's, or the one given at start): replay
 * the outgoing voters as simple adds, then enter the joint config with the incoming side.
 */
export function restore(c: Changer, cs: ConfState): ConfChangeResult {
  const outgoing: ConfChangeSingle[] = cs.votersOutgoing.map((id) => ({ type: 'addNode', nodeId: id }));
  const incoming: ConfChangeSingle[] = [
    ...cs.votersOutgoing.map((id): ConfChangeSingle => ({ type: 'removeNode', nodeId: id })),
    ...cs.voters.map((id): ConfChangeSingle => ({ type: 'addNode', nodeId: id })),
    ...cs.learners.map((id): ConfChangeSingle => ({ type: 'addLearner', nodeId: id })),
    ...cs.learnersNext.map((id): ConfChangeSingle => ({ type: 'addLearner', nodeId: id })),
  ];
  let tracker: Changer['tracker'] = c.tracker;
  const newInflights = (): ReturnType<Changer['tracker']['newInflights']> => c.tracker.newInflights();
  const step = (r: ConfChangeResult): void => {
    tracker = { config: r.config, progress: r.progress, newInflights };
  };
  if (outgoing.length === 0) {
    for (const cc of incoming) step(simple({ tracker, lastIndex: c.lastIndex }, [cc]));
  } else {
    for (const cc of outgoing) step(simple({ tracker, lastIndex: c.lastIndex }, [cc]));
    step(enterJoint({ tracker, lastIndex: c.lastIndex }, cs.autoLeave, incoming));
  }
  return { config: tracker.config, progress: tracker.progress };
}
