/**
 * Runtime benchmark: tsc-runtime against runc on the same busybox bundle in the same run.
 *   1. start-to-exit of /bin/true (`run`, Docker's default spec), median of N runs each;
 *   2. create+start of a long-running process (until start returns: it has exec'ed);
 *   3. the monitor's resident memory per container (ours; runc has no per-container process).
 * Run: npx tsx bench/runtime/start-to-exit.ts [N]   (as root)
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildBusyboxRootfs } from '../../fixtures/busybox-rootfs.js';
import { defaultSpec } from '../../agent/runtime/spec.js';
import { writeBundle } from '../../agent/runtime/write-bundle.js';
import { ensureBuilt, RUNC } from '../../agent/runtime/testing/harness.js';

const N = Number(process.argv[2] ?? 50);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Runs to completion; `detached` commands hand their stdio to the container, so no pipes then. */
function timed(bin: string, args: string[], detached = false): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, args, { stdio: ['ignore', 'ignore', detached ? 'ignore' : 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${r.status}: ${r.stderr?.toString() ?? ''}`);
  return ms;
}

async function main(): Promise<void> {
  const ours = ensureBuilt();
  const dir = await mkdtemp(join(tmpdir(), 'tsc-rt-bench-'));
  try {
    const rootfs = await buildBusyboxRootfs(join(dir, 'rootfs'));
    const runtimes = [
      { name: 'runc', bin: RUNC, root: join(dir, 'runc-root') },
      { name: 'tsc-runtime', bin: ours, root: join(dir, 'tsc-root') },
    ];
    const bundleTrue = join(dir, 'true');
    const specTrue = defaultSpec({ args: ['/bin/true'], rootfs, hostname: 'bench', cgroupsPath: `/tsc-rt-bench-${process.pid}` });
    specTrue.root.readonly = true;
    await writeBundle(bundleTrue, specTrue);
    const bundleSleep = join(dir, 'sleep');
    const specSleep = defaultSpec({ args: ['sleep', '1000'], rootfs, hostname: 'bench' });
    specSleep.root.readonly = true;

    const runTimes: Record<string, number[]> = { runc: [], 'tsc-runtime': [] };
    const startTimes: Record<string, number[]> = { runc: [], 'tsc-runtime': [] };
    for (let i = 0; i < N; i++) {
      for (const rt of runtimes) {
        runTimes[rt.name]?.push(timed(rt.bin, ['--root', rt.root, 'run', '--bundle', bundleTrue, `b${i}`]));
      }
    }
    for (let i = 0; i < Math.min(N, 20); i++) {
      for (const rt of runtimes) {
        const id = `s${i}`;
        if (specSleep.linux) specSleep.linux.cgroupsPath = `/tsc-rt-bench-${process.pid}-${rt.name}-${i}`;
        await writeBundle(bundleSleep, specSleep);
        const t0 = process.hrtime.bigint();
        timed(rt.bin, ['--root', rt.root, 'create', '--bundle', bundleSleep, id], true);
        timed(rt.bin, ['--root', rt.root, 'start', id]);
        startTimes[rt.name]?.push(Number(process.hrtime.bigint() - t0) / 1e6);
        timed(rt.bin, ['--root', rt.root, 'delete', '--force', id]);
      }
    }
    // memory: 10 containers side by side, as on a host; PSS splits the shared pages among them
    const ourRt = runtimes[1] as (typeof runtimes)[number];
    const rssKiB: number[] = [];
    const pssKiB: number[] = [];
    const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
    for (const id of ids) {
      if (specSleep.linux) specSleep.linux.cgroupsPath = `/tsc-rt-bench-${process.pid}-${id}`;
      await writeBundle(bundleSleep, specSleep);
      timed(ourRt.bin, ['--root', ourRt.root, 'create', '--bundle', bundleSleep, id], true);
    }
    for (const id of ids) {
      const st = JSON.parse(await readFile(join(ourRt.root, id, 'state.json'), 'utf8')) as { monitorPid: number };
      const smaps = await readFile(`/proc/${st.monitorPid}/smaps_rollup`, 'utf8');
      const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(smaps)?.[1] ?? NaN);
      rssKiB.push(field('Rss'));
      pssKiB.push(field('Pss'));
    }
    for (const id of ids) timed(ourRt.bin, ['--root', ourRt.root, 'delete', '--force', id]);
    const report = (label: string, t: Record<string, number[]>): void => {
      const r = median(t['runc'] ?? []);
      const o = median(t['tsc-runtime'] ?? []);
      console.log(`${label}: runc ${r.toFixed(1)} ms, tsc-runtime ${o.toFixed(1)} ms, ratio ${(o / r).toFixed(2)} (median of ${t['runc']?.length})`);
    };
    report('run /bin/true, start to exit', runTimes);
    report('create + start of sleep', startTimes);
    console.log(
      `tsc-runtime monitor per container (10 running): RSS median ${median(rssKiB)} KiB (max ${Math.max(...rssKiB)}), PSS median ${median(pssKiB)} KiB (runc keeps no process per container)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
