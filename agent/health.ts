/**
 * The healthcheck state machine, as Docker runs it (moby `daemon/health.go`). Pure: the
 * monitor runs probes and feeds their results in with the clock; this says the new status
 * and when to probe next.
 *
 * - status starts as `starting`; a passing probe makes it `healthy` at once;
 * - `retries` consecutive failures make it `unhealthy`, except that failures inside the start
 *   period do not count (a pass there still makes it healthy);
 * - probes run every `interval`, or every `start_interval` during the start period;
 * - the last 5 results are kept with their output (Docker keeps 5, output cut at 4 KiB).
 */
import type { HealthStatus, HealthcheckSpec } from './api/types.js';

export const HEALTH_LOG_ENTRIES = 5;
export const HEALTH_OUTPUT_MAX = 4096;

export interface ProbeResult {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface HealthState {
  status: Exclude<HealthStatus, 'none'>;
  failingStreak: number;
  log: ProbeResult[];
}

export const INITIAL_HEALTH: HealthState = { status: 'starting', failingStreak: 0, log: [] };

/** The state after one probe. `sinceStartMs`: time from container start to the probe's start. */
export function applyProbe(spec: HealthcheckSpec, state: HealthState, probe: ProbeResult, sinceStartMs: number): HealthState {
  const entry = { ...probe, output: probe.output.slice(0, HEALTH_OUTPUT_MAX) };
  const log = [...state.log, entry].slice(-HEALTH_LOG_ENTRIES);
  if (probe.exitCode === 0) return { status: 'healthy', failingStreak: 0, log };
  const inStartPeriod = sinceStartMs < spec.startPeriodMs;
  if (inStartPeriod && state.status !== 'healthy') return { status: 'starting', failingStreak: state.failingStreak, log };
  const failingStreak = state.failingStreak + 1;
  const status = failingStreak >= Math.max(1, spec.retries) ? 'unhealthy' : state.status;
  return { status, failingStreak, log };
}

/** Delay before the next probe. */
export function nextProbeDelay(spec: HealthcheckSpec, state: HealthState, sinceStartMs: number): number {
  const inStartPeriod = sinceStartMs < spec.startPeriodMs && state.status === 'starting';
  return inStartPeriod ? spec.startIntervalMs : spec.intervalMs;
}

/** Docker's defaults for fields a healthcheck leaves out. */
export const HEALTH_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  retries: 3,
  startPeriodMs: 0,
  startIntervalMs: 5_000,
} as const;

/** The command a probe runs, or undefined for `NONE` / an empty test. */
export function probeCommand(test: readonly string[]): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'NONE' || kind === undefined) return undefined;
  if (kind === 'CMD') return rest.length === 0 ? undefined : rest;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')];
  return [...test];
}
