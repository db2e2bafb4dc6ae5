import { describe, expect, it } from 'vitest';
import { Inflights } from './inflights.js';
import { Progress } from './progress.js';

const pr = (match: number, next: number): Progress => new Progress({ match, next, inflights: new Inflights(4) });

describe('progress', () => {
  it('in replicate state, a rejection moves next back to match+1 unless it is stale', () => {
    const p = pr(5, 10);
    p.becomeReplicate();
    p.next = 10;
    expect(p.maybeDecrTo(4, 4)).toBe(false); // at or below match: stale
    expect(p.maybeDecrTo(9, 9)).toBe(true);
    expect(p.next).toBe(6);
  });

  it('in probe state, only a rejection of next-1 counts, and next jumps to the hint', () => {
    const p = pr(0, 10);
    expect(p.maybeDecrTo(5, 2)).toBe(false); // not the probe we sent
    expect(p.maybeDecrTo(9, 3)).toBe(true);
    expect(p.next).toBe(4);
    expect(p.maybeDecrTo(3, 0)).toBe(true);
    expect(p.next).toBe(1);
  });

  it('a probe pauses the flow until the follower answers', () => {
    const p = pr(0, 5);
    p.updateOnEntriesSend(2, 20, 5);
    expect(p.isPaused()).toBe(true);
    p.maybeUpdate(6);
    expect(p.isPaused()).toBe(false);
    expect(p.match).toBe(6);
    expect(p.next).toBe(7);
  });

  it('replicate state pipelines until the inflights are full', () => {
    const p = pr(5, 6);
    p.becomeReplicate();
    for (let i = 0; i < 4; i++) {
      expect(p.isPaused()).toBe(false);
      p.updateOnEntriesSend(1, 1, p.next);
    }
    expect(p.isPaused()).toBe(true);
    expect(p.next).toBe(10);
  });

  it('leaving snapshot state probes just after the snapshot', () => {
    const p = pr(3, 4);
    p.becomeSnapshot(20);
    expect(p.isPaused()).toBe(true);
    p.becomeProbe();
    expect(p.state).toBe('probe');
    expect(p.next).toBe(21);
  });

  it('an older ack does not move match back', () => {
    const p = pr(8, 9);
    expect(p.maybeUpdate(5)).toBe(false);
    expect(p.match).toBe(8);
  });
});
