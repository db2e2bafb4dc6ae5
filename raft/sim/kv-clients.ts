/**
 * Concurrent clients of a small key-value state machine inside the simulator, recording a
 * history that the linearizability checker judges at the end of the run. Puts are proposals
 * (complete when the node they were sent to applies them); gets are ReadIndex reads (complete
 * when that node has applied up to the read index, reading its local state). An operation
 * whose node crashed or that took too long has an unknown outcome.
 */
import { type Operation, checkLinearizable } from '../linearizability/check.js';
import { type KvInput, type KvOutput, kvModel } from '../linearizability/kv-model.js';
import type { Random } from './network.js';

export interface KvState {
  kv: Map<string, string>;
  /** Op ids applied: a proposal duplicated by the network applies once (a client session). */
  seen: Set<number>;
}

export interface KvCommand {
  id: number;
  k: string;
  v: string;
}

export function emptyKvState(): KvState {
  return { kv: new Map(), seen: new Set() };
}

export function encodeKvState(s: KvState): unknown {
  return { kv: [...s.kv], seen: [...s.seen] };
}

export function decodeKvState(v: unknown): KvState {
  const o = (v ?? { kv: [], seen: [] }) as { kv: [string, string][]; seen: number[] };
  return { kv: new Map(o.kv), seen: new Set(o.seen) };
}

/** Applies an entry's payload if it is a client command. */
export function applyKv(s: KvState, data: string): number | undefined {
  if (!data.startsWith('{')) return undefined;
  const c = JSON.parse(data) as KvCommand;
  if (!s.seen.has(c.id)) {
    s.seen.add(c.id);
    s.kv.set(c.k, c.v);
  }
  return c.id;
}

interface Pending {
  op: Operation<KvInput, KvOutput>;
  node: number;
  started: number;
  readIndex?: number;
  /** The ReadIndex request id of a get. */
  ctx?: string;
}

const TIMEOUT = 300;
const KEYS = ['x', 'y'];

export class KvClients {
  private readonly history: Operation<KvInput, KvOutput>[] = [];
  private readonly busy = new Map<number, Pending>();
  private nextId = 1;
  completed = 0;

  constructor(
    private readonly rng: Random,
    private readonly clients: number,
    /** Test the tester: serve gets from local state at once, skipping ReadIndex (not linearizable). */
    private readonly unsafeLocalReads = false,
  ) {}

  /** Idle clients start an operation now and then; returns what to send where. */
  issue(now: number, pickNode: () => number | undefined): { client: number; node: number; put?: string; readCtx?: string }[] {
    const out: { client: number; node: number; put?: string; readCtx?: string }[] = [];
    for (let c = 1; c <= this.clients; c++) {
      if (this.busy.has(c) || this.rng.float() > 0.08) continue;
      const node = pickNode();
      if (node === undefined) continue;
      const key = KEYS[this.rng.intn(KEYS.length)] as string;
      const id = this.nextId++;
      if (this.rng.float() < 0.6) {
        const value = `v${id}`;
        const op: Operation<KvInput, KvOutput> = { clientId: c, input: { op: 'put', key, value }, output: undefined, call: now, return: Infinity };
        this.busy.set(c, { op, node, started: now });
        out.push({ client: c, node, put: JSON.stringify({ id, k: key, v: value } satisfies KvCommand) });
      } else {
        const op: Operation<KvInput, KvOutput> = { clientId: c, input: { op: 'get', key }, output: undefined, call: now, return: Infinity };
        this.busy.set(c, { op, node, started: now });
        out.push({ client: c, node, readCtx: `kv${id}` });
      }
    }
    return out;
  }

  /** The proposal was refused on the spot: it never happened. */
  refused(client: number): void {
    this.busy.delete(client);
  }

  /** Node `node` applied command `id` at `now`. */
  applied(node: number, id: number, now: number): void {
    for (const [c, p] of this.busy) {
      if (p.op.input.op !== 'put' || p.node !== node) continue;
      const cmd = p.op.input.value;
      if (cmd !== `v${id}`) continue;
      this.finish(c, p, {}, now);
    }
  }

  /** A read index arrived for `ctx` at `node`. */
  readState(node: number, ctx: string, index: number): void {
    for (const p of this.busy.values()) {
      if (p.node === node && p.op.input.op === 'get' && p.ctx === ctx) p.readIndex ??= index;
    }
  }

  /** Remembers which read context belongs to which client's get. */
  tagRead(client: number, ctx: string): void {
    const p = this.busy.get(client);
    if (p !== undefined) p.ctx = ctx;
  }

  /** Node `node` has applied up to `applied` with state `s`: serve reads that were waiting. */
  serveReads(node: number, applied: number, s: KvState, now: number): void {
    for (const [c, p] of this.busy) {
      if (p.node !== node || p.op.input.op !== 'get') continue;
      if (!this.unsafeLocalReads && (p.readIndex === undefined || applied < p.readIndex)) continue;
      this.finish(c, p, { value: s.kv.get(p.op.input.key) ?? null }, now);
    }
  }

  /** A node crashed: reads waiting on it are abandoned (reads change nothing, so they are dropped). */
  crashed(node: number): void {
    for (const [c, p] of this.busy) {
      if (p.node !== node) continue;
      if (p.op.input.op === 'get') this.busy.delete(c);
    }
  }

  /** Gives up on slow operations: a put's outcome becomes unknown, a get is dropped. */
  expire(now: number): void {
    for (const [c, p] of this.busy) {
      if (now - p.started < TIMEOUT) continue;
      if (p.op.input.op === 'put') this.history.push(p.op);
      this.busy.delete(c);
    }
  }

  private finish(c: number, p: Pending, output: KvOutput, now: number): void {
    this.history.push({ ...p.op, output, return: now });
    this.busy.delete(c);
    this.completed++;
  }

  /** Judges the history; returns a description of the violation, if any. */
  check(): string | undefined {
    const all = [...this.history];
    for (const p of this.busy.values()) if (p.op.input.op === 'put') all.push(p.op);
    const r = checkLinearizable(kvModel, all);
    return r.ok ? undefined : `linearizability: no order explains this history:\n    ${(r.counterexample ?? []).join('\n    ')}`;
  }
}
