/**
 * ReadIndex bookkeeping on the leader (section 6.4 of the Raft thesis). A read request records
 * the commit index when it arrived; it is answered once a quorum acknowledged a heartbeat that
 * carried its id, which proves that no newer leader existed at that moment.
 */
import type { Message } from './types.js';

export type ReadOnlyOption =
  /** Confirm leadership with a heartbeat round per batch of reads. Always safe. */
  | 'safe'
  /**
   * Trust the leader lease instead: no round trip, but correct only if clocks drift by less
   * than the election timeout minus the time a leader needs to notice it lost its quorum
   * (checkQuorum must be on). Use only with bounded clock drift.
   */
  | 'leaseBased';

export interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Set<number>;
}

const key = (ctx: Uint8Array | undefined): string => (ctx === undefined ? '' : Buffer.from(ctx).toString('latin1'));

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  /** Queues a request (its id is entries[0].data) answered at `index` once confirmed. */
  addRequest(index: number, m: Message): void {
    const k = key(m.entries[0]?.data);
    if (this.pending.has(k)) return;
    this.pending.set(k, { index, req: m, acks: new Set() });
    this.queue.push(k);
  }

  /** Records that `id` acknowledged the heartbeat carrying `ctx`; returns the acks so far. */
  recvAck(id: number, ctx: Uint8Array | undefined): Set<number> | undefined {
    const rs = this.pending.get(key(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Releases the request with `ctx` and every request queued before it. */
  advance(ctx: Uint8Array | undefined): ReadIndexStatus[] {
    const k = key(ctx);
    const i = this.queue.indexOf(k);
    if (i < 0) return [];
    const done = this.queue.slice(0, i + 1);
    this.queue = this.queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const d of done) {
      const rs = this.pending.get(d);
      if (rs === undefined) throw new Error(`cannot find corresponding read state for a queued request`);
      out.push(rs);
      this.pending.delete(d);
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    const last = this.queue[this.queue.length - 1];
    if (last === undefined) return undefined;
    return (this.pending.get(last) as ReadIndexStatus).req.entries[0]?.data;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
