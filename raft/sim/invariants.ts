/**
 * The safety properties of Raft (figure 3 of the paper), checked by the simulator after every
 * step. A broken one throws InvariantViolation with the numbers.
 *
 * - Election safety: at most one leader per term (over the whole run, crashes included).
 * - Log matching: an (index, term) pair names one entry, and that entry always follows the
 *   same previous term; by induction two logs holding the same (index, term) agree on the
 *   whole prefix. Checked on every entry as it is persisted.
 * - Leader completeness: an entry committed in term t is in the log of every leader of a term
 *   after t (checked when a node becomes leader).
 * - State machine safety: no two nodes apply different entries at an index (compared as a hash
 *   chain over the applied prefix, so snapshots are covered too); applies are contiguous.
 * - Monotonicity: a node's commit index never decreases while it runs; its durable term never
 *   decreases and its durable vote never changes within a term.
 */
import type { Entry, HardState } from '../core/types.js';

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolation';
  }
}

function fail(msg: string): never {
  throw new InvariantViolation(msg);
}

export function entryKey(e: Entry): string {
  return `${e.type}:${Buffer.from(e.data).toString('latin1')}`;
}

/** FNV-1a over the previous hash and the entry: the state machine's fingerprint. */
export function chainHash(prev: number, e: Entry): number {
  let h = (prev ^ 0x811c9dc5) >>> 0;
  const mix = (b: number): void => {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  mix(e.index & 0xff);
  mix((e.index >>> 8) & 0xff);
  mix(e.type === 'normal' ? 1 : 2);
  for (const b of e.data) mix(b);
  return h;
}

interface CommittedRecord {
  term: number;
  /** Upper bound of the term in which it was committed (exact when first seen on the leader). */
  commitTerm: number;
}

export class InvariantChecker {
  private leaders = new Map<number, number>();
  private entries = new Map<string, { prevTerm: number; key: string }>();
  private committed = new Map<number, CommittedRecord>();
  private appliedHash = new Map<number, number>();
  private durable = new Map<number, HardState>();
  checks = 0;

  /** A node is leader in `term`. Call on every step for every live leader. */
  leader(id: number, term: number, logTermAt: (i: number) => number | undefined, firstIndex: number, lastIndex: number): void {
    this.checks++;
    const prev = this.leaders.get(term);
    if (prev === undefined) {
      this.leaders.set(term, id);
      this.checkLeaderCompleteness(id, term, logTermAt, firstIndex, lastIndex);
    } else if (prev !== id) {
      fail(`election safety: nodes ${prev} and ${id} are both leader in term ${term}`);
    }
  }

  private checkLeaderCompleteness(
    id: number,
    term: number,
    logTermAt: (i: number) => number | undefined,
    firstIndex: number,
    lastIndex: number,
  ): void {
    for (const [index, rec] of this.committed) {
      if (rec.commitTerm >= term || index < firstIndex) continue;
      if (index > lastIndex) {
        fail(`leader completeness: leader ${id} of term ${term} lacks committed entry ${index} (its last index is ${lastIndex})`);
      }
      const t = logTermAt(index);
      if (t !== undefined && t !== rec.term) {
        fail(`leader completeness: leader ${id} of term ${term} has term ${t} at ${index}, committed entry has term ${rec.term}`);
      }
    }
  }

  /** Entries just persisted by a node, with the term of the entry before each. */
  persisted(id: number, ents: readonly Entry[], prevTermOf: (i: number) => number | undefined): void {
    for (const e of ents) {
      this.checks++;
      const k = `${e.index}/${e.term}`;
      const prevTerm = prevTermOf(e.index - 1);
      const key = entryKey(e);
      const rec = this.entries.get(k);
      if (rec === undefined) {
        if (prevTerm !== undefined) this.entries.set(k, { prevTerm, key });
        continue;
      }
      if (rec.key !== key) fail(`log matching: node ${id} has a different entry at index ${e.index} term ${e.term}`);
      if (prevTerm !== undefined && rec.prevTerm !== prevTerm) {
        fail(`log matching: node ${id} has term ${prevTerm} before entry ${e.index}/${e.term}, another node has ${rec.prevTerm}`);
      }
    }
  }

  /** A node's commit index moved from `from` to `to`; `termAt` reads its log. */
  committedRange(id: number, nodeTerm: number, from: number, to: number, termAt: (i: number) => number | undefined): void {
    if (to < from) fail(`monotonic commit: node ${id} commit went from ${from} back to ${to}`);
    for (let i = from + 1; i <= to; i++) {
      this.checks++;
      const t = termAt(i);
      if (t === undefined) continue; // compacted: it was recorded when first committed
      const rec = this.committed.get(i);
      if (rec === undefined) this.committed.set(i, { term: t, commitTerm: nodeTerm });
      else if (rec.term !== t) fail(`committed entries differ: node ${id} committed term ${t} at ${i}, another term ${rec.term}`);
    }
  }

  /** A node's state machine reached `index` with fingerprint `hash`. */
  applied(id: number, index: number, hash: number): void {
    this.checks++;
    const prev = this.appliedHash.get(index);
    if (prev === undefined) this.appliedHash.set(index, hash);
    else if (prev !== hash) fail(`state machine safety: node ${id} applied a different history up to index ${index}`);
  }

  /** A node persisted a hard state. */
  hardState(id: number, hs: HardState): void {
    this.checks++;
    const prev = this.durable.get(id);
    if (prev !== undefined) {
      if (hs.term < prev.term) fail(`durable term of node ${id} went from ${prev.term} back to ${hs.term}`);
      if (hs.term === prev.term && prev.vote !== 0 && hs.vote !== prev.vote) {
        fail(`node ${id} voted for ${prev.vote} and then ${hs.vote} in term ${hs.term}`);
      }
      if (hs.commit < prev.commit) fail(`durable commit of node ${id} went from ${prev.commit} back to ${hs.commit}`);
    }
    this.durable.set(id, { ...hs });
  }

  maxCommitted(): number {
    let m = 0;
    for (const i of this.committed.keys()) if (i > m) m = i;
    return m;
  }

  committedCount(): number {
    return this.committed.size;
  }

  leaderTerms(): number {
    return this.leaders.size;
  }
}
