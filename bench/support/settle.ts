/**
 * Before a timed command: wait until the machine is quiet (at least 90% of its CPU time idle
 * over 100 ms, as /proc/stat counts it), for at most `maxMs`. Each tool's teardown leaves work
 * behind it (the kernel frees network namespaces and devices in its own workers for tens of
 * milliseconds after `down` returns); without this, one tool's leftovers would land in the
 * other's next figure when their rounds alternate. Both tools get the same wait.
 */
import { readFileSync } from 'node:fs';

function cpuTimes(): { idle: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: a disk still busy (iowait) is not quiet
  return { idle: f[3] ?? 0, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Returns the idle share seen last (1 when the machine was quiet at once). */
export function settle(maxMs = 3000, idleShare = 0.9): number {
  const deadline = Date.now() + maxMs;
  let share = 0;
  do {
    const a = cpuTimes();
    sleep(100);
    const b = cpuTimes();
    share = b.total === a.total ? 1 : (b.idle - a.idle) / (b.total - a.total);
    if (share >= idleShare) return share;
  } while (Date.now() < deadline);
  return share;
}
