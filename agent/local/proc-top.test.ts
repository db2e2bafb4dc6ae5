import { describe, expect, it } from 'vitest';

import { cpuTime, parseProcStat, startTime, topRow, ttyName, userNames } from './proc-top.js';

describe('top columns', () => {
  it('parses /proc/<pid>/stat even when the name holds spaces and parentheses', () => {
    const text = '4242 (my (odd) name) S 4200 4242 4242 34817 4242 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 1000 10 18446744073709551615';
    expect(parseProcStat(text)).toEqual({ comm: 'my (odd) name', ppid: 4200, ttyNr: 34817, utime: 250, stime: 50, starttime: 12345 });
  });

  it('names terminals, CPU time and start time as ps -ef does', () => {
    expect(ttyName(0)).toBe('?');
    expect(ttyName(34817)).toBe('pts/1');
    expect(ttyName((4 << 8) | 1)).toBe('tty1');
    expect(cpuTime(100 * 3725)).toBe('01:02:05');
    expect(cpuTime(100 * (86400 + 1))).toBe('1-00:00:01');
    const now = new Date(2026, 10, 23, 12, 30);
    expect(startTime(new Date(2026, 10, 23, 9, 5), now)).toBe('09:05');
    expect(startTime(new Date(2026, 0, 2, 9, 5), now)).toBe('Jan02');
    expect(startTime(new Date(2025, 0, 2, 9, 5), now)).toBe('2025');
  });

  it('makes one row: user, pids, C, STIME, TTY, TIME and the command line', () => {
    const now = new Date(2026, 10, 23, 12, 30, 0);
    const bootTime = now.getTime() / 1000 - 200; // booted 200 s ago; the process started 100 s after boot
    const st = { comm: 'sleep', ppid: 1, ttyNr: 0, utime: 40, stime: 10, starttime: 100 * 100 };
    expect(topRow(7, 'root', st, 'sleep\u0000100\u0000', { now, bootTime })).toEqual(['root', '7', '1', '0', '12:28', '?', '00:00:00', 'sleep 100']);
    const busy = { ...st, utime: 5000, stime: 0 };
    expect(topRow(8, 'nobody', busy, '', { now, bootTime })[3]).toBe('50');
    expect(topRow(8, 'nobody', busy, '', { now, bootTime })[7]).toBe('[sleep]');
  });

  it('names users from passwd, the first name of a uid winning', () => {
    expect([...userNames('root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n')]).toEqual([
      [0, 'root'],
      [65534, 'nobody'],
    ]);
  });
});
