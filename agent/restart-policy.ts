/**
 * Whether and when to restart a container that exited, as Docker does
 * (moby `restartmanager`): policies no, always, unless-stopped, on-failure[:N]; a delay of
 * 100 ms doubling up to 1 min, reset once the container has run for 10 s.
 * Pure: the caller passes what happened and the clock.
 */
import type { RestartPolicy } from './api/types.js';

export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
/** A run this long counts as healthy: the backoff starts over. */
export const BACKOFF_RESET_AFTER_MS = 10_000;

export interface RestartState {
  /** Restarts done so far (Docker's RestartCount). */
  restartCount: number;
  /** Delay used for the previous restart, 0 before the first. */
  lastDelayMs: number;
}

export interface ExitFacts {
  exitCode: number;
  /** How long the container ran before this exit. */
  ranForMs: number;
  /** Stopped by the user (stop, kill, down): never restarted. */
  stoppedByUser: boolean;
}

export type RestartDecision = { restart: false } | { restart: true; delayMs: number; next: RestartState };

export const INITIAL_RESTART_STATE: RestartState = { restartCount: 0, lastDelayMs: 0 };

export function decideRestart(policy: RestartPolicy, state: RestartState, exit: ExitFacts): RestartDecision {
  if (exit.stoppedByUser) return { restart: false };
  switch (policy.name) {
    case 'no':
      return { restart: false };
    case 'on-failure':
      if (exit.exitCode === 0) return { restart: false };
      if (policy.maximumRetryCount > 0 && state.restartCount >= policy.maximumRetryCount) return { restart: false };
      break;
    case 'always':
    case 'unless-stopped':
      break;
  }
  const reset = exit.ranForMs >= BACKOFF_RESET_AFTER_MS || state.lastDelayMs === 0;
  const delayMs = reset ? BACKOFF_START_MS : Math.min(state.lastDelayMs * 2, BACKOFF_MAX_MS);
  return { restart: true, delayMs, next: { restartCount: state.restartCount + 1, lastDelayMs: delayMs } };
}

/** Parse compose's `restart:` value: `no`, `always`, `unless-stopped`, `on-failure[:N]`. */
export function parseRestartPolicy(value: string | undefined): RestartPolicy | undefined {
  if (value === undefined || value === '' || value === 'no') return { name: 'no' };
  if (value === 'always' || value === 'unless-stopped') return { name: value };
  const m = /^on-failure(?::(\d+))?$/.exec(value);
  if (m) return { name: 'on-failure', maximumRetryCount: m[1] === undefined ? 0 : Number(m[1]) };
  return undefined;
}
