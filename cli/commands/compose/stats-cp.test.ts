import { describe, expect, it } from 'vitest';

import type { ContainerStatsSample } from '../../../agent/api/types.js';
import { splitCopyArg } from './cp.js';
import { bytesSize, humanSize, statsRow, statsTable } from './stats.js';

const sample = (cpuNs: number, sysNs: number, extra: Partial<ContainerStatsSample> = {}): ContainerStatsSample => ({
  read: '',
  cpu: { totalUsageNs: cpuNs, systemUsageNs: sysNs, onlineCpus: 2 },
  memory: { usage: 8 * 1024 * 1024, limit: 64 * 1024 * 1024, inactiveFile: 4 * 1024 * 1024 },
  network: { rxBytes: 1200, txBytes: 648 },
  blockIo: { readBytes: 0, writeBytes: 4096 },
  pids: 3,
  ...extra,
});

describe('stats figures', () => {
  it('prints sizes with docker\'s units', () => {
    expect(humanSize(648)).toBe('648B');
    expect(humanSize(1200)).toBe('1.2kB');
    expect(humanSize(12_345_678)).toBe('12.35MB');
    expect(bytesSize(3.5 * 1024 * 1024)).toBe('3.5MiB');
    expect(bytesSize(0)).toBe('0B');
  });

  it('figures CPU % from two readings and memory without the inactive page cache', () => {
    const row = statsRow({ id: 'abcdef0123456789', name: 'demo-web-1' }, sample(3e8, 4e9), sample(1e8, 2e9));
    expect(row).toEqual({
      BlockIO: '0B / 4.096kB',
      CPUPerc: '20.00%',
      Container: 'abcdef012345',
      ID: 'abcdef012345',
      MemPerc: '6.25%',
      MemUsage: '4MiB / 64MiB',
      Name: 'demo-web-1',
      NetIO: '1.2kB / 648B',
      PIDs: '3',
    });
    expect(statsRow({ id: 'x', name: 'n' }, sample(3e8, 4e9), undefined).CPUPerc).toBe('0.00%');
    expect(statsTable([row]).split('\n')[0]).toBe('CONTAINER ID   NAME         CPU %    MEM USAGE / LIMIT   MEM %   NET I/O        BLOCK I/O      PIDS');
  });
});

describe('cp arguments', () => {
  it('tells a service side from a local path as docker does', () => {
    expect(splitCopyArg('web:/etc/hosts')).toEqual({ service: 'web', path: '/etc/hosts' });
    expect(splitCopyArg('./a:b')).toEqual({ host: './a:b' });
    expect(splitCopyArg('/tmp/x')).toEqual({ host: '/tmp/x' });
    expect(splitCopyArg('file.txt')).toEqual({ host: 'file.txt' });
  });
});
