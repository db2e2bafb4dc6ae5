/**
 * The replicated key-value map of the test service: commands are JSON in the log, the state is a
 * Map, a snapshot is the map as JSON. Deterministic: every member applies the same commands in
 * the same order and reaches the same map.
 */
import type { StateMachine } from '../node.js';

export type KvCommand =
  | { op: 'put'; key: string; value: string }
  | { op: 'cas'; key: string; prev: string; value: string }
  | { op: 'delete'; key: string };

export interface KvResult {
  /** cas: whether it swapped; delete: whether the key existed; put: always true. */
  ok: boolean;
  index: number;
}

/** Where a member is reached: its HTTP API and its Raft transport. */
export interface KvMemberAddrs {
  http: string;
  raft: string;
}

export class KvStateMachine implements StateMachine {
  private map = new Map<string, string>();
  /**
   * The addresses of members added at run time (from their conf change), kept in snapshots so
   * that a member restarted after the conf change was compacted away still knows them.
   */
  readonly members = new Map<number, KvMemberAddrs>();

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  size(): number {
    return this.map.size;
  }

  apply(data: Uint8Array, index: number): KvResult {
    const c = JSON.parse(Buffer.from(data).toString()) as KvCommand;
    switch (c.op) {
      case 'put':
        this.map.set(c.key, c.value);
        return { ok: true, index };
      case 'cas': {
        if (this.map.get(c.key) !== c.prev) return { ok: false, index };
        this.map.set(c.key, c.value);
        return { ok: true, index };
      }
      case 'delete':
        return { ok: this.map.delete(c.key), index };
    }
  }

  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify({ kv: [...this.map], members: [...this.members] }));
  }

  restore(data: Uint8Array): void {
    const v = JSON.parse(Buffer.from(data).toString()) as [string, string][] | { kv: [string, string][]; members: [number, KvMemberAddrs][] };
    // Snapshots made before the address book were the bare map.
    const kv = Array.isArray(v) ? v : v.kv;
    this.map = new Map(kv);
    this.members.clear();
    if (!Array.isArray(v)) for (const [id, a] of v.members) this.members.set(id, a);
  }
}

export function encodeKvCommand(c: KvCommand): Uint8Array {
  return Buffer.from(JSON.stringify(c));
}
