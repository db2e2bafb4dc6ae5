import { describe, expect, it } from 'vitest';

import { blkioV1, cgroupFigures, cgroupPlacement, ioStatV2, memoryLimit, netDev, systemCpuNs } from './cgroup-stats.js';

const GIB = 1024 ** 3;

describe('cgroup stats parsers', () => {
  it('finds a v1 container in each controller, and a v2 one in the unified tree', () => {
    const v1 = cgroupPlacement('9:name=systemd:/\n8:pids:/tsc-compose/abc\n2:cpu,cpuacct:/tsc-compose/abc\n4:memory:/tsc-compose/abc\n0::/\n');
    expect(v1).toEqual({
      version: 1,
      dirs: {
        pids: '/sys/fs/cgroup/pids/tsc-compose/abc',
        cpu: '/sys/fs/cgroup/cpu/tsc-compose/abc',
        cpuacct: '/sys/fs/cgroup/cpuacct/tsc-compose/abc',
        memory: '/sys/fs/cgroup/memory/tsc-compose/abc',
      },
    });
    expect(cgroupPlacement('0::/tsc-compose/abc\n')).toEqual({ version: 2, dirs: { '': '/sys/fs/cgroup/tsc-compose/abc' } });
  });

  it('reads v1 files as docker stats does', () => {
    const f = cgroupFigures(
      1,
      {
        cpu: '123456789\n',
        memUsage: '10485760\n',
        memLimit: '9223372036854771712\n',
        memStat: 'cache 4096\ninactive_file 100\ntotal_inactive_file 2097152\n',
        pids: '3\n',
        blkio: '8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\n8:16 Read 1\n8:16 Write 0\nTotal 12289\n',
      },
      8 * GIB,
    );
    expect(f).toEqual({ cpuNs: 123456789, memory: { usage: 10485760, limit: 8 * GIB, inactiveFile: 2097152 }, blockIo: { readBytes: 4097, writeBytes: 8192 }, pids: 3 });
  });

  it('reads v2 files as docker stats does', () => {
    const f = cgroupFigures(
      2,
      {
        cpu: 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n',
        memUsage: '20971520\n',
        memLimit: '67108864\n',
        memStat: 'anon 1000\nfile 4096\ninactive_file 1048576\nactive_file 0\n',
        pids: '2\n',
        io: '8:0 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=1 rios=1 wios=1 dbytes=0 dios=0\n',
      },
      8 * GIB,
    );
    expect(f).toEqual({ cpuNs: 2_500_000, memory: { usage: 20971520, limit: 67108864, inactiveFile: 1048576 }, blockIo: { readBytes: 1025, writeBytes: 2049 }, pids: 2 });
    expect(memoryLimit('max\n', 8 * GIB)).toBe(8 * GIB);
    expect(ioStatV2('')).toEqual({ readBytes: 0, writeBytes: 0 });
    expect(blkioV1('Total 0\n')).toEqual({ readBytes: 0, writeBytes: 0 });
  });

  it('sums network bytes over all interfaces but loopback, and host CPU time in ns', () => {
    const dev = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0',
      '  eth0:    5000      50    0    0    0     0          0         0     700       7    0    0    0     0       0          0',
      '  eth1:      10       1    0    0    0     0          0         0      20       1    0    0    0     0       0          0',
    ].join('\n');
    expect(netDev(dev)).toEqual({ rxBytes: 5010, txBytes: 720 });
    expect(systemCpuNs('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n')).toBe(1000 * 1e7);
  });
});
