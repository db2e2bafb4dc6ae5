/**
 * Reading container logs in Docker's json-file format: one JSON object a line,
 * `{"log":"text\n","stream":"stdout","time":"2026-11-23T09:00:00.000000000Z"}`, in `<file>`
 * and its rotated predecessors `<file>.1` (newer) ... `<file>.N` (oldest), as the runtime's
 * monitor writes them. `tail`, `since` and `until` as `docker logs` has them; `follow` keeps
 * reading the live file, across rotations, until the signal aborts or `done` settles (then it
 * reads to the end once more: a stopped container's last lines are all there).
 *
 * A followed file is woken by inotify on its directory (which also sees a rotation's rename), so
 * a line reaches the reader as it is written; the timer is only a fallback.
 */
import { type FSWatcher, watch } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

import type { LogLine } from '../api/types.js';

export interface ReadLogsOptions {
  /** Last N lines; undefined or negative for all. */
  tail?: number | undefined;
  /** Only lines at or after this time (RFC 3339). */
  since?: string | undefined;
  /** Only lines before this time (RFC 3339). */
  until?: string | undefined;
  follow?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** How often a followed file is checked for growth without an inotify event. Default 1 s (100 ms without inotify). */
  pollMs?: number | undefined;
  /** Ends a follow once settled, after reading what the file holds by then. */
  done?: Promise<unknown> | undefined;
}

interface JsonLogEntry {
  log: string;
  stream: string;
  time: string;
}

/** One JSON line to a LogLine, or undefined for a torn or foreign line. */
export function parseJsonLogLine(text: string): LogLine | undefined {
  if (text === '') return undefined;
  try {
    const e = JSON.parse(text) as Partial<JsonLogEntry>;
    if (typeof e.log !== 'string' || typeof e.time !== 'string') return undefined;
    return { stream: e.stream === 'stderr' ? 'stderr' : 'stdout', time: e.time, line: e.log.replace(/\n$/, '') };
  } catch {
    return undefined;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The live file as read now: its text, bytes, inode, and what follows its last newline. */
async function readLive(path: string): Promise<{ text: string; size: number; ino: number | undefined; tail: string }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', size: 0, ino: undefined, tail: '' };
    throw e;
  }
  try {
    const { ino } = await fh.stat();
    const buf = await fh.readFile();
    const text = buf.toString('utf8');
    const end = buf.lastIndexOf(0x0a);
    return { text, size: buf.length, ino, tail: buf.subarray(end + 1).toString('utf8') };
  } finally {
    await fh.close();
  }
}

/** The rotated files that exist, oldest first, then the live one. */
async function filesOldestFirst(file: string): Promise<string[]> {
  const rotated: string[] = [];
  for (let i = 1; ; i++) {
    const p = `${file}.${i}`;
    if ((await readIfExists(p)) === undefined) break;
    rotated.push(p);
  }
  return [...rotated.reverse(), file];
}

/** RFC 3339 times with nanoseconds compare as numbers of nanoseconds since the epoch. */
function timeKey(t: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return BigInt(Date.parse(t)) * 1_000_000n;
  const secs = BigInt(Date.parse(`${m[1]}${m[3]}`)) / 1000n;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9));
  return secs * 1_000_000_000n + frac;
}

function inWindow(l: LogLine, since: bigint | undefined, until: bigint | undefined): boolean {
  const k = timeKey(l.time);
  return (since === undefined || k >= since) && (until === undefined || k < until);
}

export async function* readJsonLogs(file: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogLine> {
  const since = opts.since === undefined ? undefined : timeKey(opts.since);
  const until = opts.until === undefined ? undefined : timeKey(opts.until);
  let lines: LogLine[] = [];
  // Where the live file's read ended: a follow goes on from there, so a line appended between
  // this read and the follow's first look is neither lost nor read twice.
  let live: Awaited<ReturnType<typeof readLive>> = { text: '', size: 0, ino: undefined, tail: '' };
  for (const f of await filesOldestFirst(file)) {
    let text: string;
    if (f === file) {
      live = await readLive(file);
      // Following, a last line without its newline yet is finished by the follow.
      text = opts.follow === true ? live.text.slice(0, live.text.length - live.tail.length) : live.text;
    } else {
      text = (await readIfExists(f)) ?? '';
    }
    for (const raw of text.split('\n')) {
      const l = parseJsonLogLine(raw);
      if (l !== undefined && inWindow(l, since, until)) lines.push(l);
    }
  }
  if (opts.tail !== undefined && opts.tail >= 0) lines = opts.tail === 0 ? [] : lines.slice(-opts.tail);
  yield* lines;
  if (opts.follow !== true) return;

  // Follow: remember where the live file ended, read what is appended; a rotation shows up as
  // a new inode (or a shorter file), and the new file is read from its start.
  let st: Awaited<ReturnType<typeof stat>> | undefined;
  let offset = live.size;
  let ino = live.ino;
  let partial = live.tail;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let finished = false;
  void opts.done?.then(
    () => {
      finished = true;
      poke();
    },
    () => {
      finished = true;
      poke();
    },
  );
  opts.signal?.addEventListener('abort', poke, { once: true });
  let watcher: FSWatcher | undefined;
  try {
    const name = basename(file);
    watcher = watch(dirname(file), { persistent: false }, (_event, f) => {
      if (f === null || f === name) poke();
    });
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // no inotify (limits): the timer alone
  }
  const pollMs = opts.pollMs ?? (watcher === undefined ? 100 : 1000);
  const aborted = (): boolean => opts.signal?.aborted === true;
  try {
    while (!aborted()) {
      const last = finished;
      if (!last) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, pollMs);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
        if (aborted()) return;
      }
      st = await stat(file).catch(() => undefined);
      if (st !== undefined && (st.ino !== ino || st.size < offset)) {
        ino = st.ino;
        offset = 0;
        partial = '';
      }
      if (st !== undefined && st.size > offset) {
        const fh = await open(file, 'r');
        try {
          const buf = Buffer.alloc(st.size - offset);
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          offset += bytesRead;
          const chunk = partial + buf.subarray(0, bytesRead).toString('utf8');
          const parts = chunk.split('\n');
          partial = parts.pop() ?? '';
          for (const raw of parts) {
            const l = parseJsonLogLine(raw);
            if (l !== undefined && inWindow(l, since, until)) yield l;
          }
        } finally {
          await fh.close();
        }
      }
      if (last) return;
    }
  } finally {
    watcher?.close();
    opts.signal?.removeEventListener('abort', poke);
  }
}
