import { describe, expect, it } from 'vitest';

import { humanDuration, statusText } from './status-text.js';

describe('docker ps status text', () => {
  it('writes durations as Docker does', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(42_000)).toBe('42 seconds');
    expect(humanDuration(90_000)).toBe('About a minute');
    expect(humanDuration(5 * 60_000)).toBe('5 minutes');
    expect(humanDuration(60 * 60_000)).toBe('About an hour');
    expect(humanDuration(5 * 3600_000)).toBe('5 hours');
    expect(humanDuration(3 * 86400_000)).toBe('3 days');
  });

  it('says what state a container is in', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    const base = { exitCode: 0, startedAt: '2026-01-01T00:07:00Z', finishedAt: '2026-01-01T00:09:58Z', now };
    expect(statusText({ ...base, state: 'running', health: 'healthy' })).toBe('Up 3 minutes (healthy)');
    expect(statusText({ ...base, state: 'running', health: 'starting' })).toBe('Up 3 minutes (health: starting)');
    expect(statusText({ ...base, state: 'running', health: 'none' })).toBe('Up 3 minutes');
    expect(statusText({ ...base, state: 'exited', health: 'none', exitCode: 137 })).toBe('Exited (137) 2 seconds ago');
    expect(statusText({ ...base, state: 'created', health: 'none' })).toBe('Created');
  });
});
