/**
 * The simulated network: every message gets a delivery time from the seeded generator and may
 * be dropped or duplicated; delivery order among due messages is shuffled (reordering).
 * Partitions are groups of node ids; a message crossing groups is lost when it would arrive.
 */
import type { Message } from '../core/types.js';

export interface NetworkFaults {
  /** Probability that a message is lost. */
  drop: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Extra delay in time units, uniformly 0..maxDelay. */
  maxDelay: number;
}

export interface Random {
  float(): number;
  intn(n: number): number;
}

interface InFlight {
  at: number;
  seq: number;
  msg: Message;
}

export class SimNetwork {
  private inflight: InFlight[] = [];
  private seq = 0;
  /** Node id -> partition group; nodes absent from the map are in group 0. */
  private groups = new Map<number, number>();
  sent = 0;
  dropped = 0;

  constructor(
    private readonly rng: Random,
    public faults: NetworkFaults,
  ) {}

  /** Queues messages; `onLost` hears of the ones dropped at once (a transport sees its send fail). */
  send(now: number, msgs: readonly Message[], onLost: (m: Message) => void): void {
    for (const msg of msgs) {
      this.sent++;
      if (this.rng.float() < this.faults.drop) {
        this.dropped++;
        onLost(msg);
        continue;
      }
      const copies = this.rng.float() < this.faults.duplicate ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        this.inflight.push({ at: now + 1 + this.rng.intn(this.faults.maxDelay + 1), seq: this.seq++, msg });
      }
    }
  }

  /** Messages due at `now`, shuffled; cut ones are dropped (reported through `onLost`). */
  due(now: number, onLost: (m: Message) => void): Message[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.inflight) (f.at <= now ? ready : rest).push(f);
    this.inflight = rest;
    for (let i = ready.length - 1; i > 0; i--) {
      const j = this.rng.intn(i + 1);
      const t = ready[i] as InFlight;
      ready[i] = ready[j] as InFlight;
      ready[j] = t;
    }
    const out: Message[] = [];
    for (const f of ready) {
      if (this.connected(f.msg.from, f.msg.to)) out.push(f.msg);
      else {
        this.dropped++;
        onLost(f.msg);
      }
    }
    return out;
  }

  connected(a: number, b: number): boolean {
    return (this.groups.get(a) ?? 0) === (this.groups.get(b) ?? 0);
  }

  /** Splits `ids` into two sides at random (each side non-empty when possible). */
  partition(ids: readonly number[]): number[][] {
    this.groups.clear();
    const side: number[][] = [[], []];
    for (const id of ids) {
      const g = this.rng.intn(2);
      this.groups.set(id, g);
      (side[g] as number[]).push(id);
    }
    return side;
  }

  isolate(id: number): void {
    this.groups.clear();
    this.groups.set(id, 1);
  }

  heal(): void {
    this.groups.clear();
  }

  pending(): number {
    return this.inflight.length;
  }
}
