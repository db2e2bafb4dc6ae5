/**
 * A per-proposal timeline for finding where a write's latency goes (bench/raft's trace report).
 * Off unless RAFT_TRACE names a directory: then each process records `[time, event, lo, hi,
 * peer]` rows (a log index range, and the peer a message went to or came from) and appends them
 * to `<dir>/trace-<id>-<pid>.jsonl` every 200 ms, so a member killed with SIGKILL still leaves
 * all but its last fraction of a second. Times are wall-clock milliseconds with microsecond
 * precision (performance.timeOrigin + now()), comparable across processes on one machine.
 *
 * Events, in the order a write meets them:
 *   leader:   prop (index taken) · app-out (MsgApp handed to the transport, peer) · wal-start ·
 *             wal-done · ack-in (MsgAppResp stepped, peer, index) · commit · apply · answer
 *   transport: frame-out (written to the stream, peer) · frame-in (read off the stream, peer)
 *   follower: app-in (MsgApp stepped) · wal-start · wal-done · ack-out (MsgAppResp handed to
 *             the transport)
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PerformanceEntry, PerformanceObserver, performance } from 'node:perf_hooks';

export type TraceEvent =
  | 'prop'
  | 'app-out'
  | 'wal-start'
  | 'wal-done'
  | 'ack-in'
  | 'commit'
  | 'apply'
  | 'answer'
  | 'frame-out'
  | 'frame-in'
  | 'app-in'
  | 'ack-out'
  | 'gc';

export type TraceRow = [time: number, event: TraceEvent, lo: number, hi: number, peer: number];

export interface Tracer {
  /** Records that `event` happened now to log indexes lo..hi (with `peer` when a message is involved). */
  mark(event: TraceEvent, lo: number, hi: number, peer?: number): void;
}

class FileTracer implements Tracer {
  private rows: TraceRow[] = [];
  private readonly file: string;
  private readonly origin = performance.timeOrigin;

  constructor(dir: string, id: number) {
    this.file = join(dir, `trace-${id}-${process.pid}.jsonl`);
    setInterval(() => this.flush(), 200).unref();
    // Garbage collections longer than 2 ms, as ('gc', duration in µs, V8's kind: 1 minor, 2
    // major, 4 incremental, 8 weak callbacks): their pauses show up as stalls of every write.
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
        if (e.duration > 2) this.rows.push([this.origin + e.startTime, 'gc', Math.round(e.duration * 1000), kind, 0]);
      }
    }).observe({ entryTypes: ['gc'] });
    process.once('exit', () => this.flush());
  }

  mark(event: TraceEvent, lo: number, hi: number, peer = 0): void {
    this.rows.push([this.origin + performance.now(), event, lo, hi, peer]);
  }

  private flush(): void {
    if (this.rows.length === 0) return;
    const out = this.rows.map((r) => JSON.stringify(r)).join('\n');
    this.rows = [];
    appendFileSync(this.file, `${out}\n`);
  }
}

const tracers = new Map<number, Tracer>();

/** The tracer of member `id` in this process: a file tracer when RAFT_TRACE is set, else none. */
export function tracerFor(id: number): Tracer | undefined {
  const dir = process.env['RAFT_TRACE'];
  if (dir === undefined || dir === '') return undefined;
  let t = tracers.get(id);
  if (t === undefined) {
    t = new FileTracer(dir, id);
    tracers.set(id, t);
  }
  return t;
}
