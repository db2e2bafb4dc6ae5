import { describe, expect, it } from 'vitest';

import { INITIAL_RESTART_STATE, decideRestart, parseRestartPolicy, type RestartState } from './restart-policy.js';

const crash = { exitCode: 1, ranForMs: 50, stoppedByUser: false };

function delays(n: number, ranForMs = 50): number[] {
  let state: RestartState = INITIAL_RESTART_STATE;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = decideRestart({ name: 'always' }, state, { ...crash, ranForMs });
    if (!d.restart) throw new Error('expected a restart');
    out.push(d.delayMs);
    state = d.next;
  }
  return out;
}

describe('restart policy', () => {
  it('backs off from 100 ms doubling to one minute', () => {
    expect(delays(12)).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
  });

  it('starts the backoff over after 10 s of running', () => {
    expect(delays(3, 10_000)).toEqual([100, 100, 100]);
  });

  it('never restarts what the user stopped, nor under `no`', () => {
    expect(decideRestart({ name: 'always' }, INITIAL_RESTART_STATE, { ...crash, stoppedByUser: true }).restart).toBe(false);
    expect(decideRestart({ name: 'no' }, INITIAL_RESTART_STATE, crash).restart).toBe(false);
  });

  it('restarts on-failure only after a failure, at most N times', () => {
    const p = { name: 'on-failure', maximumRetryCount: 2 } as const;
    expect(decideRestart(p, INITIAL_RESTART_STATE, { ...crash, exitCode: 0 }).restart).toBe(false);
    expect(decideRestart(p, { restartCount: 1, lastDelayMs: 100 }, crash).restart).toBe(true);
    expect(decideRestart(p, { restartCount: 2, lastDelayMs: 200 }, crash).restart).toBe(false);
    expect(decideRestart({ name: 'on-failure', maximumRetryCount: 0 }, { restartCount: 99, lastDelayMs: 100 }, crash).restart).toBe(true);
  });

  it('parses compose restart values', () => {
    expect(parseRestartPolicy('on-failure:3')).toEqual({ name: 'on-failure', maximumRetryCount: 3 });
    expect(parseRestartPolicy('on-failure')).toEqual({ name: 'on-failure', maximumRetryCount: 0 });
    expect(parseRestartPolicy('unless-stopped')).toEqual({ name: 'unless-stopped' });
    expect(parseRestartPolicy(undefined)).toEqual({ name: 'no' });
    expect(parseRestartPolicy('sometimes')).toBeUndefined();
  });
});
