/**
 * A container's counters read from the host: its cgroups (v1 controllers or the v2 unified
 * tree) found through `/proc/<pid>/cgroup`, network totals from `/proc/<pid>/net/dev` (its
 * network namespace), and the host's CPU time from `/proc/stat`. The parsers are pure and
 * take the files' text, so both cgroup versions are tested on any machine.
 */
import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import type { ContainerStatsSample } from '../api/types.js';

/** Clock ticks per second of /proc/stat (USER_HZ: 100 on every Linux architecture we run on). */
const USER_HZ = 100;

export interface CgroupPlacement {
  version: 1 | 2;
  /** v1: controller name → directory; v2: the one directory under '' */
  dirs: Record<string, string>;
}

/**
 * `/proc/<pid>/cgroup` → the directories of the controllers we read. With any v1 controller
 * mounted the process is in v1 (a hybrid host keeps the v2 line for systemd only).
 */
export function cgroupPlacement(procCgroup: string, root = '/sys/fs/cgroup'): CgroupPlacement {
  const dirs: Record<string, string> = {};
  let unified: string | undefined;
  for (const line of procCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (m === null) continue;
    const [, , controllers = '', path = ''] = m;
    if (controllers === '') {
      unified = path;
      continue;
    }
    for (const c of controllers.split(',')) {
      if (c.startsWith('name=')) continue;
      // v1 mounts a co-mounted pair under its joined name (cpu,cpuacct); each name links to it.
      dirs[c] = join(root, c, path);
    }
  }
  if (Object.keys(dirs).length > 0) return { version: 1, dirs };
  return { version: 2, dirs: { '': join(root, unified ?? '/') } };
}

const num = (text: string | undefined): number => {
  const n = Number((text ?? '').trim());
  return Number.isFinite(n) ? n : 0;
};

/** `key value` lines (memory.stat, cpu.stat) as a map. */
export function keyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k !== undefined && k !== '' && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** v1 `blkio.throttle.io_service_bytes[_recursive]`: `MAJ:MIN Read N` lines, summed over devices. */
export function blkioV1(text: string): { readBytes: number; writeBytes: number } {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    const [dev, op, v] = line.trim().split(/\s+/);
    if (dev === undefined || !dev.includes(':')) continue;
    if (op === 'Read') readBytes += num(v);
    else if (op === 'Write') writeBytes += num(v);
  }
  return { readBytes, writeBytes };
}

/** v2 `io.stat`: `MAJ:MIN rbytes=N wbytes=N rios=N ...` lines, summed over devices. */
export function ioStatV2(text: string): { readBytes: number; writeBytes: number } {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = field.split('=');
      if (k === 'rbytes') readBytes += num(v);
      else if (k === 'wbytes') writeBytes += num(v);
    }
  }
  return { readBytes, writeBytes };
}

/** `/proc/<pid>/net/dev`: received and sent bytes over every interface but loopback. */
export function netDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    if (line.slice(0, colon).trim() === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/);
    rxBytes += num(f[0]);
    txBytes += num(f[8]);
  }
  return { rxBytes, txBytes };
}

/** The first line of `/proc/stat` as nanoseconds of CPU time the host has spent, all states. */
export function systemCpuNs(procStat: string): number {
  const first = procStat.split('\n')[0] ?? '';
  if (!first.startsWith('cpu ')) return 0;
  const ticks = first.trim().split(/\s+/).slice(1, 8).reduce((a, v) => a + num(v), 0);
  return (ticks * 1e9) / USER_HZ;
}

/** A memory limit file's value; "max" and v1's page-rounded 2^63 mean none: the host's memory. */
export function memoryLimit(text: string, hostMemory: number): number {
  const t = text.trim();
  if (t === '' || t === 'max') return hostMemory;
  const n = Number(t);
  return Number.isFinite(n) && n > 0 && n < hostMemory ? n : hostMemory;
}

/** The files of one reading, by name, as they were read (missing ones as ''). */
export type CgroupFiles = Record<string, string>;

export const V1_FILES = {
  cpu: ['cpuacct', 'cpuacct.usage'],
  memUsage: ['memory', 'memory.usage_in_bytes'],
  memLimit: ['memory', 'memory.limit_in_bytes'],
  memStat: ['memory', 'memory.stat'],
  pids: ['pids', 'pids.current'],
  blkio: ['blkio', 'blkio.throttle.io_service_bytes_recursive'],
} as const;

export const V2_FILES = {
  cpu: 'cpu.stat',
  memUsage: 'memory.current',
  memLimit: 'memory.max',
  memStat: 'memory.stat',
  pids: 'pids.current',
  io: 'io.stat',
} as const;

/** The cgroup part of a reading from the files' text, as docker stats reads it per version. */
export function cgroupFigures(version: 1 | 2, f: CgroupFiles, hostMemory: number): Omit<ContainerStatsSample, 'read' | 'network' | 'cpu'> & { cpuNs: number } {
  if (version === 1) {
    const stat = keyValues(f.memStat ?? '');
    return {
      cpuNs: num(f.cpu),
      memory: { usage: num(f.memUsage), limit: memoryLimit(f.memLimit ?? '', hostMemory), inactiveFile: stat['total_inactive_file'] ?? stat['inactive_file'] ?? 0 },
      blockIo: blkioV1(f.blkio ?? ''),
      pids: num(f.pids),
    };
  }
  const stat = keyValues(f.memStat ?? '');
  return {
    cpuNs: (keyValues(f.cpu ?? '')['usage_usec'] ?? 0) * 1000,
    memory: { usage: num(f.memUsage), limit: memoryLimit(f.memLimit ?? '', hostMemory), inactiveFile: stat['inactive_file'] ?? 0 },
    blockIo: ioStatV2(f.io ?? ''),
    pids: num(f.pids),
  };
}

const readOr = (path: string) => readFile(path, 'utf8').catch(() => '');

/** One reading of the container whose first process is `pid`. */
export async function readContainerStats(pid: number, opts: { cgroupRoot?: string; now?: () => Date } = {}): Promise<ContainerStatsSample> {
  const place = cgroupPlacement(await readFile(`/proc/${pid}/cgroup`, 'utf8'), opts.cgroupRoot);
  const files: CgroupFiles = {};
  if (place.version === 1) {
    await Promise.all(
      Object.entries(V1_FILES).map(async ([k, [controller, file]]) => {
        const dir = place.dirs[controller];
        files[k] = dir === undefined ? '' : await readOr(join(dir, file));
      }),
    );
    // Older kernels have only the non-recursive blkio file.
    if (files.blkio === '' && place.dirs['blkio'] !== undefined) files.blkio = await readOr(join(place.dirs['blkio'], 'blkio.throttle.io_service_bytes'));
  } else {
    const dir = place.dirs[''] ?? '/sys/fs/cgroup';
    await Promise.all(Object.entries(V2_FILES).map(async ([k, file]) => (files[k] = await readOr(join(dir, file)))));
  }
  const [net, procStat] = await Promise.all([readOr(`/proc/${pid}/net/dev`), readOr('/proc/stat')]);
  const { cpuNs, ...rest } = cgroupFigures(place.version, files, totalmem());
  return {
    read: (opts.now ?? (() => new Date()))().toISOString(),
    cpu: { totalUsageNs: cpuNs, systemUsageNs: systemCpuNs(procStat), onlineCpus: cpus().length },
    network: netDev(net),
    ...rest,
  };
}
