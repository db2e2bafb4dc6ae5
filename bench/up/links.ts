/**
 * A container's network links, the old way against the new: N parallel connects (namespace,
 * veth on a bridge, addresses, routes, sysctl, resolver table: the ops the agent's connect
 * runs) and then N parallel disconnects, through the `sh` script (applyLinkOpsByScript) and
 * through tsc-spawn's `@links` built-in (applyLinkOps), rounds alternating. Prints the median
 * wall time of each and the CPU of the programs/children tsc-spawn ran (its cutime + cstime),
 * with the ratio. As root:
 *
 *     npx tsx bench/up/links.ts [N=10] [ROUNDS=7]
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { runProgram, usesSpawnHelper } from '../../lib/run-program.js';
import { type LinkOp, planAttach } from '../../overlay/link-plan.js';
import { applyLinkOps, applyLinkOpsByScript } from '../../overlay/link-shell.js';
import { renderNativeLinkOps } from '../../overlay/native-link-ops.js';
import { renderResolverScript } from '../../overlay/nft-ruleset.js';
import { uniqueTag } from '../../overlay/testing/netns-fixture.js';

const run = promisify(execFile);
const n = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 7);
const tag = uniqueTag().slice(-6);
const bridge = `tsbb${tag}`;

function connectOps(i: number): LinkOp[] {
  const ns = `tsbn-${tag}-${i}`;
  const path = `/run/netns/${ns}`;
  const ip = `10.213.${Math.floor(i / 200)}.${2 + (i % 200)}`;
  return [
    { kind: 'ip', args: ['netns', 'add', ns] },
    ...planAttach(
      { netns: path, bridge, hostVeth: `tsbv${tag}${i}`, ifname: 'eth0', mac: '02:42:0a:d5:00:02', addresses: [`${ip}/16`], gateways: ['10.213.0.1'] },
      undefined,
      [],
    ),
    { kind: 'nft', netns: path, script: renderResolverScript({ table: 'tsc_dns', server: '10.213.0.1', serverPort: 10053, serverPorts: 2, source: ip, fresh: true }) },
  ];
}

function disconnectOps(i: number): LinkOp[] {
  return [
    { kind: 'ip', args: ['link', 'del', `tsbv${tag}${i}`] },
    { kind: 'ip', args: ['netns', 'del', `tsbn-${tag}-${i}`] },
  ];
}

/** tsc-spawn: the child of this process named so. */
function helperPid(): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (stat.includes('(tsc-spawn)') && Number(rest[1]) === process.pid) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('no tsc-spawn child found');
}

/** CPU of tsc-spawn's reaped children so far, in ms (clock ticks of 10 ms). */
function childrenCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  if (!usesSpawnHelper()) throw new Error('tsc-spawn is not built (make -C agent/runtime/native)');
  if (renderNativeLinkOps(connectOps(0)) === undefined) throw new Error('the connect ops have no @links form');
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await run('ip', ['link', 'set', bridge, 'up']);
  const ways = { script: applyLinkOpsByScript, builtin: applyLinkOps } as const;
  const figures: Record<keyof typeof ways, { up: number[]; down: number[]; upCpu: number[]; downCpu: number[] }> = {
    script: { up: [], down: [], upCpu: [], downCpu: [] },
    builtin: { up: [], down: [], upCpu: [], downCpu: [] },
  };
  try {
    await runProgram(['true']); // starts tsc-spawn
    const pid = helperPid();
    const ids = Array.from({ length: n }, (_, i) => i);
    for (let r = 0; r < rounds; r++) {
      for (const way of (r % 2 === 0 ? ['script', 'builtin'] : ['builtin', 'script']) as (keyof typeof ways)[]) {
        const apply = ways[way];
        let cpu = childrenCpu(pid);
        let t = performance.now();
        await Promise.all(ids.map((i) => apply(connectOps(i))));
        figures[way].up.push(performance.now() - t);
        figures[way].upCpu.push(childrenCpu(pid) - cpu);
        cpu = childrenCpu(pid);
        t = performance.now();
        await Promise.all(ids.map((i) => apply(disconnectOps(i))));
        figures[way].down.push(performance.now() - t);
        figures[way].downCpu.push(childrenCpu(pid) - cpu);
      }
    }
  } finally {
    for (let i = 0; i < n; i++) {
      await run('ip', ['link', 'del', `tsbv${tag}${i}`]).catch(() => undefined);
      await run('ip', ['netns', 'del', `tsbn-${tag}-${i}`]).catch(() => undefined);
    }
    await run('ip', ['link', 'del', bridge]).catch(() => undefined);
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`${n} parallel connects / disconnects, median of ${rounds} rounds (load ${load}); CPU = tsc-spawn's children, mean per round`);
  for (const phase of ['up', 'down'] as const) {
    const s = figures.script;
    const b = figures.builtin;
    const cpu = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const sw = median(s[phase]);
    const bw = median(b[phase]);
    const sc = cpu(s[`${phase}Cpu`]);
    const bc = cpu(b[`${phase}Cpu`]);
    console.log(
      `  ${phase === 'up' ? 'connect   ' : 'disconnect'}  script ${sw.toFixed(0).padStart(4)} ms wall ${sc.toFixed(0).padStart(4)} ms CPU` +
        `   @links ${bw.toFixed(0).padStart(4)} ms wall ${bc.toFixed(0).padStart(4)} ms CPU   ratio ${(sw / bw).toFixed(1)}x wall, ${(sc / Math.max(bc, 1)).toFixed(1)}x CPU`,
    );
  }
}

await main();
