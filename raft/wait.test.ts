import { describe, expect, it } from 'vitest';
import { Wait } from './wait.js';

describe('Wait', () => {
  it('resolves a registered id once, when triggered', async () => {
    const w = new Wait<number>();
    const p = w.register('a');
    expect(w.trigger('b', 1)).toBe(false);
    expect(w.trigger('a', 7)).toBe(true);
    expect(w.trigger('a', 8)).toBe(false);
    await expect(p).resolves.toBe(7);
    expect(w.size()).toBe(0);
  });

  it('rejects everything pending on cancelAll, and refuses duplicate ids', async () => {
    const w = new Wait<string>();
    const a = w.register('a');
    const b = w.register('b');
    expect(() => w.register('a')).toThrow(/duplicate/);
    w.cancelAll(new Error('lost leadership'));
    await expect(a).rejects.toThrow('lost leadership');
    await expect(b).rejects.toThrow('lost leadership');
    expect(w.isRegistered('a')).toBe(false);
  });
});
