/**
 * The replicated key-value map of the test service: commands are JSON in the log, the state is a
 * Map, a snapshot is the map and the member directory as JSON. Deterministic: every member
 * applies the same commands and conf changes in the same order and reaches the same state.
 *
 * The member directory (id -> HTTP and Raft addresses) is replicated with the membership itself,
 * as etcd carries a member's URLs in its ConfChange's context: it starts from `--peers` and
 * then changes only by applied conf changes and restored snapshots, so that a restarted or newly
 * joined member knows where every current member listens.
 */
import type { ConfChange } from '../core/types.js';
import type { StateMachine } from '../node.js';
import type { KvMember } from './kv-peers.js';

export type KvCommand =
  | { op: 'put'; key: string; value: string }
  | { op: 'cas'; key: string; prev: string; value: string }
  | { op: 'delete'; key: string };

export interface KvResult {
  /** cas: whether it swapped; delete: whether the key existed; put: always true. */
  ok: boolean;
  index: number;
}

interface KvSnapshot {
  kv: [string, string][];
  members: [number, KvMember][];
  removed: number[];
}

export class KvStateMachine implements StateMachine {
  private map = new Map<string, string>();
  private directory = new Map<number, KvMember>();
  /** Ids removed from the cluster: never reused, and refused by the transport (as etcd). */
  private removedIds = new Set<number>();

  /** `initialMembers`: the `--peers` list; a snapshot or a conf change replaces what it says. */
  constructor(
    initialMembers: ReadonlyMap<number, KvMember> = new Map(),
    private readonly onMembers: (members: ReadonlyMap<number, KvMember>) => void = () => undefined,
  ) {
    this.directory = new Map(initialMembers);
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  size(): number {
    return this.map.size;
  }

  /** Where each member listens, as far as this member has applied. */
  members(): ReadonlyMap<number, KvMember> {
    return this.directory;
  }

  isRemoved(id: number): boolean {
    return this.removedIds.has(id);
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

  /**
   * Follows an applied conf change: added members come with their addresses in the context
   * (`encodeMemberContext`); removed ones leave the directory. The bootstrap's own conf changes
   * carry no context: the `--peers` list already holds those members.
   */
  applyConfChange(cc: ConfChange): void {
    const ctx = decodeMemberContext(cc.context);
    let changed = false;
    for (const ch of cc.changes) {
      if (ch.type === 'removeNode') {
        this.removedIds.add(ch.nodeId);
        changed = this.directory.delete(ch.nodeId) || changed;
        continue;
      }
      const m = ctx.get(ch.nodeId);
      if (m !== undefined) {
        this.directory.set(ch.nodeId, m);
        changed = true;
      }
    }
    if (changed) this.onMembers(this.directory);
  }

  snapshot(): Uint8Array {
    const s: KvSnapshot = { kv: [...this.map], members: [...this.directory], removed: [...this.removedIds] };
    return Buffer.from(JSON.stringify(s));
  }

  restore(data: Uint8Array): void {
    const s = JSON.parse(Buffer.from(data).toString()) as KvSnapshot;
    this.map = new Map(s.kv);
    this.directory = new Map(s.members);
    this.removedIds = new Set(s.removed);
    this.onMembers(this.directory);
  }
}

export function encodeKvCommand(c: KvCommand): Uint8Array {
  return Buffer.from(JSON.stringify(c));
}

/** The context of a conf change that adds members: their addresses, keyed by id. */
export function encodeMemberContext(members: ReadonlyMap<number, KvMember>): string {
  return JSON.stringify({ members: Object.fromEntries(members) });
}

function decodeMemberContext(context: string | undefined): Map<number, KvMember> {
  if (context === undefined || context === '') return new Map();
  const v = JSON.parse(context) as { members?: Record<string, KvMember> };
  return new Map(Object.entries(v.members ?? {}).map(([id, m]) => [Number(id), { http: m.http, raft: m.raft }]));
}
