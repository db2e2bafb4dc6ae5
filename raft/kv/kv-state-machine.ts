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

export class KvStateMachine implements StateMachine {
  private map = new Map<string, string>();

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
    return Buffer.from(JSON.stringify([...this.map]));
  }

  restore(data: Uint8Array): void {
    this.map = new Map(JSON.parse(Buffer.from(data).toString()) as [string, string][]);
  }
}

export function encodeKvCommand(c: KvCommand): Uint8Array {
  return Buffer.from(JSON.stringify(c));
}
