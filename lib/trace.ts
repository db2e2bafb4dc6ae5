/**
 * A timeline for finding where time goes: with `TSC_COMPOSE_TRACE=1` each span is written to
 * stderr, with `TSC_COMPOSE_TRACE=/some/file` appended to that file (a stderr pipe nobody reads
 * would block the process), one line each: `trace <start ms> <duration ms> <key> <what>`, times
 * from the process's start. Off (the default) it costs one test per span (and the global
 * `performance`, which Node loads on first use, is never touched).
 */
import { createWriteStream, type WriteStream } from 'node:fs';

const setting = process.env['TSC_COMPOSE_TRACE'] ?? '';
const on = setting !== '' && setting !== '0';
let out: WriteStream | NodeJS.WriteStream | undefined;

function write(line: string): void {
  out ??= setting === '1' ? process.stderr : createWriteStream(setting, { flags: 'a' });
  out.write(line);
}

export function tracing(): boolean {
  return on;
}

/** `fn`'s duration under `key` (a container, a network) and `what` (the phase). */
export async function traced<T>(key: string, what: string, fn: () => Promise<T>): Promise<T> {
  if (!on) return fn();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const t1 = performance.now();
    write(`trace ${(performance.timeOrigin + t0).toFixed(1)} ${(t1 - t0).toFixed(1)} ${key} ${what}\n`);
  }
}

/** One moment, for what has no duration. */
export function traceMark(key: string, what: string): void {
  if (on) write(`trace ${(performance.timeOrigin + performance.now()).toFixed(1)} 0 ${key} ${what}\n`);
}

/** When this process started (its first trace line, for lining up several processes' traces). */
export function traceProcessStart(key: string): void {
  if (on) write(`trace ${performance.timeOrigin.toFixed(1)} ${performance.now().toFixed(1)} ${key} process-start\n`);
}
