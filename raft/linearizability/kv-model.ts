/**
 * The sequential model of the test key-value service: get, put, compare-and-set, delete on
 * string keys. Keys are independent, so histories are checked one key at a time.
 */
import type { Model, Operation } from './check.js';

export type KvInput =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'cas'; key: string; prev: string; value: string }
  | { op: 'delete'; key: string };

/** get: the value (null if absent); cas: whether it swapped; put/delete: nothing to check. */
export interface KvOutput {
  value?: string | null;
  ok?: boolean;
}

type State = string | null;

export const kvModel: Model<State, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case 'get':
        return { ok: output === undefined || output.value === state, state };
      case 'put':
        return { ok: true, state: input.value };
      case 'delete':
        return { ok: true, state: null };
      case 'cas': {
        const swapped = state === input.prev;
        if (output === undefined) {
          // Unknown outcome: it swapped if it could; if it could not, nothing changed either way.
          return { ok: true, state: swapped ? input.value : state };
        }
        return { ok: output.ok === swapped, state: swapped ? input.value : state };
      }
    }
  },
  key: (s) => (s === null ? '\u0000' : `v${s}`),
  partition(history) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of history) {
      const list = byKey.get(op.input.key) ?? [];
      list.push(op);
      byKey.set(op.input.key, list);
    }
    return [...byKey.values()];
  },
  describe(o) {
    const out = o.output === undefined ? '?' : JSON.stringify(o.output);
    return `client ${o.clientId} [${o.call}, ${o.return}] ${JSON.stringify(o.input)} -> ${out}`;
  },
};
