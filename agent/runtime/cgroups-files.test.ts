/**
 * The cgroup files tsc-runtime writes for linux.resources, v2 and v1, checked on a temporary
 * directory through the binary's `__cgroup-apply` hook (this machine's v2 has no controllers).
 * The v2 conversions are runc's: cpu.weight from shares, io.weight from blkio weight, swap.max
 * as swap minus memory.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Resources } from './spec.js';
import { ensureBuilt } from './testing/harness.js';

const resources: Resources = {
  memory: { limit: 64 * 1024 * 1024, swap: 96 * 1024 * 1024, reservation: 32 * 1024 * 1024 },
  cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
  pids: { limit: 100 },
  blockIO: { weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
};

describe('cgroup files for linux.resources', () => {
  let bin: string;
  let dir: string;
  beforeAll(async () => {
    bin = ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'tsc-rt-cg-'));
    await writeFile(join(dir, 'resources.json'), JSON.stringify(resources));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function read(...p: string[]): Promise<string> {
    return (await readFile(join(dir, ...p), 'utf8')).trim();
  }

  it('writes v2 files in the unified format', async () => {
    await mkdir(join(dir, 'v2'), { recursive: true });
    execFileSync(bin, ['__cgroup-apply', 'v2', join(dir, 'v2'), join(dir, 'resources.json')]);
    expect(await read('v2', 'memory.max')).toBe(String(64 * 1024 * 1024));
    expect(await read('v2', 'memory.swap.max')).toBe(String(32 * 1024 * 1024));
    expect(await read('v2', 'memory.low')).toBe(String(32 * 1024 * 1024));
    expect(await read('v2', 'cpu.weight')).toBe('20'); // 1 + (512 - 2) * 9999 / 262142
    expect(await read('v2', 'cpu.max')).toBe('50000 100000');
    expect(await read('v2', 'cpuset.cpus')).toBe('0-1');
    expect(await read('v2', 'cpuset.mems')).toBe('0');
    expect(await read('v2', 'pids.max')).toBe('100');
    expect(await read('v2', 'io.weight')).toBe('2930'); // 1 + (300 - 10) * 9999 / 990
    expect(await read('v2', 'io.max')).toBe('8:0 rbps=1048576');
  });

  it('writes v1 files per controller', async () => {
    execFileSync(bin, ['__cgroup-apply', 'v1', join(dir, 'v1'), join(dir, 'resources.json')]);
    expect(await read('v1', 'memory', 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
    expect(await read('v1', 'memory', 'memory.soft_limit_in_bytes')).toBe(String(32 * 1024 * 1024));
    expect(await read('v1', 'cpu', 'cpu.shares')).toBe('512');
    expect(await read('v1', 'cpu', 'cpu.cfs_quota_us')).toBe('50000');
    expect(await read('v1', 'cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(await read('v1', 'pids', 'pids.max')).toBe('100');
    expect(await read('v1', 'blkio', 'blkio.bfq.weight')).toBe('300');
    expect(await read('v1', 'blkio', 'blkio.throttle.read_bps_device')).toBe('8:0 1048576');
  });

  it('writes "max" for an unlimited memory and pids limit', async () => {
    await writeFile(join(dir, 'unlimited.json'), JSON.stringify({ memory: { limit: -1, swap: -1 }, pids: { limit: 0 } }));
    await mkdir(join(dir, 'v2u'), { recursive: true });
    execFileSync(bin, ['__cgroup-apply', 'v2', join(dir, 'v2u'), join(dir, 'unlimited.json')]);
    expect(await read('v2u', 'memory.max')).toBe('max');
    expect(await read('v2u', 'memory.swap.max')).toBe('max');
    expect(await read('v2u', 'pids.max')).toBe('max');
  });
});
