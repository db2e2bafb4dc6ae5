/**
 * Waiting in tests for a condition, never for a fixed time: poll with a deadline, and say what
 * was awaited (and the last value seen) when it does not come.
 */
import type { ChildProcess } from 'node:child_process';

/** Poll `read` until `check` holds of its value; resolves with that value. */
export async function until<T>(what: string, read: () => T | Promise<T>, check: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
    last = await read();
  }
  return last;
}

/**
 * Poll `read` until it gives a value (anything but undefined or false); a read that throws, as
 * a request to a member that is not up yet does, counts as not yet. Resolves with the value.
 */
export async function untilValue<T>(what: string, read: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const safe = async (): Promise<T | undefined | false> => {
    try {
      return await read();
    } catch {
      return undefined;
    }
  };
  return (await until(what, safe, (v) => v !== undefined && v !== false, timeoutMs)) as T;
}

/** Poll a plain condition until it holds. */
export async function untilTrue(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  await until(what, cond, (v) => v, timeoutMs);
}

/** A long-running CLI process (watch, up --watch) whose output the test reads as it comes. */
export interface FollowedProcess {
  proc: ChildProcess;
  out(): string;
  err(): string;
  /** Send `signal` (unless it has exited) and resolve with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function follow(proc: ChildProcess): FollowedProcess {
  let out = '';
  let err = '';
  proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    out: () => out,
    err: () => err,
    async stop(signal = 'SIGINT') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Follow `proc` until its output shows `ready`; fails with its stderr if it exits first. */
export async function followUntilReady(proc: ChildProcess, ready: string, timeoutMs = 120_000): Promise<FollowedProcess> {
  const f = follow(proc);
  await untilTrue(ready, () => f.out().includes(ready) || proc.exitCode !== null, timeoutMs);
  if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode} before "${ready}": ${f.err()}`);
  return f;
}
