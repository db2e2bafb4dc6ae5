/**
 * `top` of a container: the processes in its cgroup, with the columns `ps -ef` prints and
 * docker compose shows (UID PID PPID C STIME TTY TIME CMD), read from /proc on the host (pids
 * as the host sees them, as `docker top` gives them). Parsing and formatting are pure.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { ContainerTop } from '../api/types.js';
import { cgroupPlacement } from './cgroup-stats.js';

const USER_HZ = 100;
export const TOP_TITLES = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'];

export interface ProcStat {
  comm: string;
  ppid: number;
  ttyNr: number;
  /** Clock ticks. */
  utime: number;
  stime: number;
  /** Clock ticks after boot. */
  starttime: number;
}

/** `/proc/<pid>/stat`; the name may hold spaces and parentheses, so fields count from the last ')'. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).trim().split(/\s+/);
  const at = (n: number) => Number(f[n - 3] ?? 0);
  return { comm: text.slice(open + 1, close), ppid: at(4), ttyNr: at(7), utime: at(14), stime: at(15), starttime: at(22) };
}

/** The terminal of `tty_nr` as ps names it: pts/N, ttyN, or '?'. */
export function ttyName(ttyNr: number): string {
  if (ttyNr === 0) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${minor + (major - 136) * 256}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  return '?';
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Cumulative CPU time as ps prints it: [DD-]HH:MM:SS. */
export function cpuTime(ticks: number): string {
  const s = Math.floor(ticks / USER_HZ);
  const days = Math.floor(s / 86400);
  const hms = `${pad2(Math.floor((s % 86400) / 3600))}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  return days > 0 ? `${days}-${hms}` : hms;
}

/** A start time as ps prints it: HH:MM today, MonDD this year, else the year (local time). */
export function startTime(started: Date, now: Date): string {
  if (started.toDateString() === now.toDateString()) return `${pad2(started.getHours())}:${pad2(started.getMinutes())}`;
  if (started.getFullYear() === now.getFullYear()) return `${MONTHS[started.getMonth()]}${pad2(started.getDate())}`;
  return String(started.getFullYear());
}

export interface TopClock {
  now: Date;
  /** Host boot time, seconds since the epoch (`btime` of /proc/stat). */
  bootTime: number;
}

/** One row: the process's effective uid already named. */
export function topRow(pid: number, user: string, st: ProcStat, cmdline: string, clock: TopClock): string[] {
  const startedAt = clock.bootTime + st.starttime / USER_HZ;
  const elapsed = clock.now.getTime() / 1000 - startedAt;
  const cpu = st.utime + st.stime;
  const c = elapsed > 0 ? Math.floor((cpu / USER_HZ / elapsed) * 100) : 0;
  const args = cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  const cmd = args.length === 0 ? `[${st.comm}]` : args.join(' ');
  return [user, String(pid), String(st.ppid), String(c), startTime(new Date(startedAt * 1000), clock.now), ttyName(st.ttyNr), cpuTime(cpu), cmd];
}

/** uid → name from a passwd file's text. */
export function userNames(passwd: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of passwd.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name !== undefined && name !== '' && uid !== undefined && !out.has(Number(uid))) out.set(Number(uid), name);
  }
  return out;
}

async function cgroupPids(dir: string): Promise<number[]> {
  const own = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
  const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(children.filter((d) => d.isDirectory()).map((d) => cgroupPids(join(dir, d.name))));
  return [...own, ...nested.flat()];
}

/** The processes of the container whose first process is `pid`, in pid order. */
export async function readContainerTop(pid: number, opts: { cgroupRoot?: string; now?: Date } = {}): Promise<ContainerTop> {
  const place = cgroupPlacement(await readFile(`/proc/${pid}/cgroup`, 'utf8'), opts.cgroupRoot);
  const dir = place.version === 1 ? (place.dirs['pids'] ?? place.dirs['memory'] ?? place.dirs['cpu']) : place.dirs[''];
  const pids = dir === undefined ? [pid] : [...new Set(await cgroupPids(dir))].sort((a, b) => a - b);
  const procStat = await readFile('/proc/stat', 'utf8');
  const bootTime = Number(/^btime (\d+)$/m.exec(procStat)?.[1] ?? 0);
  const names = userNames(await readFile('/etc/passwd', 'utf8').catch(() => ''));
  const clock = { now: opts.now ?? new Date(), bootTime };
  const rows = await Promise.all(
    pids.map(async (p) => {
      try {
        const [stat, status, cmdline] = await Promise.all([
          readFile(`/proc/${p}/stat`, 'utf8'),
          readFile(`/proc/${p}/status`, 'utf8'),
          readFile(`/proc/${p}/cmdline`, 'utf8'),
        ]);
        const uid = Number(/^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1] ?? 0);
        return topRow(p, names.get(uid) ?? String(uid), parseProcStat(stat), cmdline, clock);
      } catch {
        return undefined; // exited between the listing and the read
      }
    }),
  );
  return { titles: TOP_TITLES, processes: rows.filter((r): r is string[] => r !== undefined) };
}
