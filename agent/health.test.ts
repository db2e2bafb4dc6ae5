import { describe, expect, it } from 'vitest';

import { HEALTH_DEFAULTS, INITIAL_HEALTH, applyProbe, nextProbeDelay, probeCommand, type HealthState } from './health.js';

const spec = { test: ['CMD', 'true'], ...HEALTH_DEFAULTS, retries: 3, startPeriodMs: 10_000 };
const probe = (exitCode: number, output = '') => ({ start: 's', end: 'e', exitCode, output });

function run(codes: number[], sinceStartMs: number, from: HealthState = INITIAL_HEALTH): HealthState {
  return codes.reduce((s, code) => applyProbe(spec, s, probe(code), sinceStartMs), from);
}

describe('healthcheck state machine', () => {
  it('becomes healthy on the first passing probe', () => {
    expect(run([0], 0).status).toBe('healthy');
  });

  it('becomes unhealthy after `retries` consecutive failures, and healthy again on a pass', () => {
    const s = run([1, 1], 20_000, run([0], 0));
    expect(s.status).toBe('healthy');
    expect(s.failingStreak).toBe(2);
    const u = run([1], 20_000, s);
    expect(u.status).toBe('unhealthy');
    expect(run([0], 20_000, u)).toMatchObject({ status: 'healthy', failingStreak: 0 });
  });

  it('does not count failures inside the start period', () => {
    expect(run([1, 1, 1, 1], 5_000)).toMatchObject({ status: 'starting', failingStreak: 0 });
    expect(run([1, 1, 1], 15_000).status).toBe('unhealthy');
  });

  it('keeps the last five results with their output cut at 4 KiB', () => {
    const s = [1, 2, 3, 4, 5, 6].reduce((st, code) => applyProbe(spec, st, probe(code, 'x'.repeat(5000)), 20_000), INITIAL_HEALTH);
    expect(s.log.map((l) => l.exitCode)).toEqual([2, 3, 4, 5, 6]);
    expect(s.log[0]?.output.length).toBe(4096);
  });

  it('probes at start_interval during the start period, then at interval', () => {
    expect(nextProbeDelay(spec, INITIAL_HEALTH, 1_000)).toBe(5_000);
    expect(nextProbeDelay(spec, INITIAL_HEALTH, 11_000)).toBe(30_000);
  });

  it('turns the test into a command', () => {
    expect(probeCommand(['CMD-SHELL', 'pg_isready -U postgres'])).toEqual(['/bin/sh', '-c', 'pg_isready -U postgres']);
    expect(probeCommand(['CMD', 'curl', '-f', 'http://localhost'])).toEqual(['curl', '-f', 'http://localhost']);
    expect(probeCommand(['NONE'])).toBeUndefined();
  });
});
