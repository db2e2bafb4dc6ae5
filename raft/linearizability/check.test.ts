import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Operation, checkLinearizable } from './check.js';
import { type KvInput, type KvOutput, kvModel } from './kv-model.js';

type Op = Operation<KvInput, KvOutput>;
const put = (clientId: number, call: number, ret: number, value: string, key = 'x'): Op => ({
  clientId, call, return: ret, input: { op: 'put', key, value }, output: {},
});
const get = (clientId: number, call: number, ret: number, value: string | null, key = 'x'): Op => ({
  clientId, call, return: ret, input: { op: 'get', key }, output: { value },
});
const cas = (clientId: number, call: number, ret: number, prev: string, value: string, ok: boolean | undefined): Op => ({
  clientId, call, return: ret, input: { op: 'cas', key: 'x', prev, value }, output: ok === undefined ? undefined : { ok },
});

describe('linearizability checker (KV model)', () => {
  it('accepts a read concurrent with a write seeing either value', () => {
    expect(checkLinearizable(kvModel, [put(1, 0, 10, 'a'), get(2, 5, 6, 'a')]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [put(1, 0, 10, 'a'), get(2, 5, 6, null)]).ok).toBe(true);
  });

  it('rejects a stale read after a write completed', () => {
    const r = checkLinearizable(kvModel, [put(1, 0, 10, 'a'), get(2, 11, 12, null)]);
    expect(r.ok).toBe(false);
    expect(r.counterexample?.length).toBe(2);
  });

  it('rejects two reads that see a value come and go (a new-old inversion)', () => {
    const h = [put(1, 0, 100, 'a'), get(2, 10, 20, 'a'), get(3, 30, 40, null)];
    expect(checkLinearizable(kvModel, h).ok).toBe(false);
  });

  it('checks compare-and-set outcomes, and accepts an unknown outcome either way', () => {
    expect(checkLinearizable(kvModel, [put(1, 0, 1, 'a'), cas(2, 2, 3, 'a', 'b', true), get(3, 4, 5, 'b')]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [put(1, 0, 1, 'a'), cas(2, 2, 3, 'a', 'b', false), get(3, 4, 5, 'a')]).ok).toBe(false);
    const unknown = cas(2, 2, Infinity, 'a', 'b', undefined);
    expect(checkLinearizable(kvModel, [put(1, 0, 1, 'a'), unknown, get(3, 4, 5, 'a'), get(3, 6, 7, 'b')]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [put(1, 0, 1, 'a'), unknown, get(3, 4, 5, 'b'), get(3, 6, 7, 'a')]).ok).toBe(false);
  });

  it('checks keys independently', () => {
    const h = [put(1, 0, 1, 'a', 'x'), put(1, 2, 3, 'b', 'y'), get(2, 4, 5, 'a', 'x'), get(2, 6, 7, null, 'y')];
    const r = checkLinearizable(kvModel, h);
    expect(r.ok).toBe(false);
    expect(r.counterexample?.every((l) => l.includes('"key":"y"'))).toBe(true);
  });

  it('accepts every history produced by a real atomic register (random concurrent clients)', () => {
    // Each operation takes effect at one instant inside its [call, return] interval.
    const opArb = fc.record({
      client: fc.integer({ min: 1, max: 4 }),
      start: fc.integer({ min: 0, max: 100 }),
      length: fc.integer({ min: 0, max: 30 }),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      kind: fc.constantFrom('get', 'put', 'cas'),
      value: fc.constantFrom('a', 'b', 'c'),
    });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 14 }), (raw) => {
        const timed = raw.map((r) => ({ ...r, effect: r.start + r.at * r.length }));
        const order = [...timed].sort((a, b) => a.effect - b.effect);
        let state: string | null = null;
        const history: Op[] = [];
        for (const r of order) {
          const base = { clientId: r.client, call: r.start, return: r.start + r.length };
          if (r.kind === 'get') history.push({ ...base, input: { op: 'get', key: 'x' }, output: { value: state } });
          else if (r.kind === 'put') {
            state = r.value;
            history.push({ ...base, input: { op: 'put', key: 'x', value: r.value }, output: {} });
          } else {
            const ok: boolean = state === 'a';
            if (ok) state = r.value;
            history.push({ ...base, input: { op: 'cas', key: 'x', prev: 'a', value: r.value }, output: { ok } });
          }
        }
        expect(checkLinearizable(kvModel, history).ok).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('finds a corrupted read in such a history when the read cannot be explained', () => {
    // Sequential (non-overlapping) operations leave exactly one legal order.
    const h = [put(1, 0, 1, 'a'), put(2, 2, 3, 'b'), get(3, 4, 5, 'a')];
    expect(checkLinearizable(kvModel, h).ok).toBe(false);
  });
});
