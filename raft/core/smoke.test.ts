import { describe, expect, it } from 'vitest';
import { Network } from '../testing/network.js';

describe('smoke', () => {
  it('elects a leader and replicates', () => {
    const nw = new Network([1, 2, 3]);
    nw.campaign(1);
    expect(nw.core(1).raft.state).toBe('leader');
    nw.propose(1, 'hello');
    nw.propose(2, 'world');
    for (const id of [1, 2, 3]) expect(nw.appliedData(id)).toEqual(['hello', 'world']);
  });
});
