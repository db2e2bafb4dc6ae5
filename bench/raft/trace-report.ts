/**
 * Reads the timelines RAFT_TRACE=DIR left (raft/trace.ts) and prints, for the writes proposed
 * on the leader, when each step happened after the proposal (median, p90, p99) and the gap from
 * the step before: where the latency of a write goes.
 *
 *   RAFT_TRACE=/tmp/t BENCH_ONLY=ours npx tsx bench/raft/run.ts 16 6
 *   npx tsx bench/raft/trace-report.ts /tmp/t
 *
 * The follower columns follow, for each index, the follower whose ack reached the leader first
 * (the one that completed the quorum with the leader's own copy).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TraceEvent, TraceRow } from '../../raft/trace.js';

type Times = Map<number, number>;

/** Index -> first time an event covered it. Acks and commits cover everything up to their index. */
function firstTimes(rows: TraceRow[], event: TraceEvent, peer?: number, upTo = false): Times {
  const out: Times = new Map();
  let high = 0;
  for (const [t, e, lo, hi, p] of rows) {
    if (e !== event || (peer !== undefined && p !== peer)) continue;
    const from = upTo ? high + 1 : lo;
    for (let i = from; i <= hi; i++) if (!out.has(i)) out.set(i, t);
    high = Math.max(high, hi);
  }
  return out;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

function main(): void {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error('usage: trace-report.ts DIR');
  const members = new Map<number, TraceRow[]>();
  for (const f of readdirSync(dir).filter((n) => /^trace-\d+-\d+\.jsonl$/.test(n))) {
    const id = Number(/^trace-(\d+)-/.exec(f)?.[1]);
    const rows = readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TraceRow);
    members.set(id, [...(members.get(id) ?? []), ...rows].sort((a, b) => a[0] - b[0]));
  }
  const leaderId = [...members].sort((a, b) => b[1].filter((r) => r[1] === 'prop').length - a[1].filter((r) => r[1] === 'prop').length)[0]?.[0];
  if (leaderId === undefined) throw new Error(`no trace files in ${dir}`);
  const L = members.get(leaderId) as TraceRow[];
  const followers = [...members.keys()].filter((id) => id !== leaderId);
  const prop = firstTimes(L, 'prop');
  const lWalStart = firstTimes(L, 'wal-start');
  const lWalDone = firstTimes(L, 'wal-done');
  const commit = firstTimes(L, 'commit', undefined, true);
  const apply = firstTimes(L, 'apply');
  const answer = firstTimes(L, 'answer');
  const per = new Map(
    followers.map((f) => {
      const F = members.get(f) as TraceRow[];
      return [
        f,
        {
          appOut: firstTimes(L, 'app-out', f),
          frameOut: firstTimes(L, 'frame-out', f),
          frameIn: firstTimes(F, 'frame-in', leaderId),
          appIn: firstTimes(F, 'app-in'),
          walStart: firstTimes(F, 'wal-start'),
          walDone: firstTimes(F, 'wal-done'),
          ackOut: firstTimes(F, 'ack-out', leaderId, true),
          ackFrameOut: firstTimes(F.filter((r) => r[1] === 'frame-out' && r[2] === r[3]), 'frame-out', leaderId, true),
          ackFrameIn: firstTimes(L.filter((r) => r[1] === 'frame-in' && r[4] === f), 'frame-in', f, true),
          ackIn: firstTimes(L, 'ack-in', f, true),
        },
      ];
    }),
  );
  const steps = [
    'leader: proposed -> MsgApp handed to transport',
    'leader: -> frame written to stream',
    'follower: -> frame read',
    'follower: -> stepped',
    'follower: -> WAL write started',
    'follower: -> WAL write done',
    'follower: -> ack handed to transport',
    'follower: -> ack frame written',
    'leader: -> ack frame read',
    'leader: -> ack stepped',
    'leader: -> committed',
    'leader: -> applied',
    'leader: -> answered',
  ];
  const gaps: number[][] = steps.map(() => []);
  const since: number[][] = steps.map(() => []);
  const lw: number[][] = [[], []];
  const indexes = [...prop.keys()].sort((a, b) => a - b);
  // The middle 80 %: no warm-up, no failover.
  const kept = indexes.slice(Math.floor(indexes.length * 0.1), Math.floor(indexes.length * 0.9));
  for (const i of kept) {
    const t0 = prop.get(i) as number;
    let best: number | undefined;
    let bestAt = Infinity;
    for (const [f, p] of per) {
      const a = p.ackIn.get(i);
      if (a !== undefined && a < bestAt) {
        bestAt = a;
        best = f;
      }
    }
    if (best === undefined) continue;
    const p = per.get(best);
    if (p === undefined) continue;
    const ts = [p.appOut, p.frameOut, p.frameIn, p.appIn, p.walStart, p.walDone, p.ackOut, p.ackFrameOut, p.ackFrameIn, p.ackIn, commit, apply, answer].map((m) => m.get(i));
    if (ts.some((t) => t === undefined)) continue;
    let prev = t0;
    ts.forEach((t, k) => {
      (gaps[k] as number[]).push((t as number) - prev);
      (since[k] as number[]).push((t as number) - t0);
      prev = t as number;
    });
    const ws = lWalStart.get(i);
    const wd = lWalDone.get(i);
    if (ws !== undefined && wd !== undefined) {
      (lw[0] as number[]).push(ws - t0);
      (lw[1] as number[]).push(wd - t0);
    }
  }
  const fmt = (xs: number[]): string => {
    const s = [...xs].sort((a, b) => a - b);
    return [0.5, 0.9, 0.99].map((q) => pct(s, q).toFixed(2).padStart(7)).join(' ');
  };
  process.stdout.write(`leader ${leaderId}, ${gaps[0]?.length ?? 0} writes traced (of ${indexes.length} proposed); ms, median p90 p99\n`);
  process.stdout.write(`${'step'.padEnd(48)} ${'gap from the step before'.padEnd(24)} since proposed\n`);
  steps.forEach((s, k) => process.stdout.write(`${s.padEnd(48)} ${fmt(gaps[k] as number[])}  ${fmt(since[k] as number[])}\n`));
  process.stdout.write(`${'leader: own WAL write started'.padEnd(48)} ${''.padEnd(24)} ${fmt(lw[0] as number[])}\n`);
  process.stdout.write(`${'leader: own WAL write done'.padEnd(48)} ${''.padEnd(24)} ${fmt(lw[1] as number[])}\n`);
}

main();
