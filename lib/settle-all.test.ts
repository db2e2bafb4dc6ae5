import { describe, expect, it } from 'vitest';

import { settleAll } from './settle-all.js';

describe('settleAll', () => {
  it('waits for every promise, then throws the first failure in the order given', async () => {
    const done: string[] = [];
    let release = () => {};
    const slow = new Promise<void>((resolve) => (release = resolve)).then(() => void done.push('slow'));
    const all = settleAll([Promise.reject(new Error('first')), slow, Promise.reject(new Error('second'))]);
    let settled = false;
    void all.catch(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    release();
    await expect(all).rejects.toThrow('first');
    expect(done).toEqual(['slow']);
  });

  it('resolves when none fails', async () => {
    await expect(settleAll([Promise.resolve(1), Promise.resolve('x')])).resolves.toBeUndefined();
  });
});
