/**
 * Ours only, for working on our side of `bench/up`: `up -d` and `down` of the generated projects
 * on one agent, each round's figure printed (no peer, no ratio: `run.ts` is the benchmark). With
 * `TSC_COMPOSE_TRACE=/some/file` in the environment the agent and the CLI append their
 * per-container phase timeline there (lib/trace.ts); with `PROF=1` the agent runs under `node --cpu-prof` and
 * its profile is kept in `PROF_DIR` (default `/tmp`).
 *
 * Run (as root): npx tsx bench/up/ours.ts [SIZES=10] [ROUNDS=5]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { buildOciImage } from '../../fixtures/oci-image.js';
import { OUR_CLI, median, startAgent, stopProcess } from '../support/docker-peer.js';
import { benchDir } from '../support/bench-dir.js';
import { settle } from '../support/settle.js';
import { generateCompose } from './generate.js';

const SIZES = (process.argv[2] ?? '10').split(',').map(Number);
const ROUNDS = Number(process.argv[3] ?? 5);

/** CPU time (ms) of a process (`self`) and of its waited-for children, from /proc/PID/stat. */
function cpuOf(pid: number): { self: number; children: number } {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ms = (i: number) => Number(f[i] ?? 0) * 10;
    return { self: ms(11) + ms(12), children: ms(13) + ms(14) };
  } catch {
    return { self: 0, children: 0 };
  }
}

/** The agent's own CPU time, and that of the programs it ran (through tsc-spawn, its child). */
function agentCpu(pid: number): { agent: number; programs: number } {
  const kids = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l !== '').map(Number);
  const a = cpuOf(pid);
  return { agent: a.self, programs: a.children + kids.reduce((acc, k) => acc + cpuOf(k).self + cpuOf(k).children, 0) };
}

/** CPU time (ms) per thread name of a process (`THREADS=1`: where the agent's own time goes). */
function threadsCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of existsSync(`/proc/${pid}/task`) ? readdirSync(`/proc/${pid}/task`) : []) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = `${text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"))}:${t}`;
      const f = text.slice(text.lastIndexOf(') ') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

const minus = (a: { agent: number; programs: number }, b: { agent: number; programs: number }) => ({ agent: a.agent - b.agent, programs: a.programs - b.programs });

function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  settle();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [OUR_CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return performance.now() - t0;
}

function cpuText(xs: Array<{ agent: number; programs: number }>): string {
  return `${median(xs.map((x) => x.agent))}+${median(xs.map((x) => x.programs))}`;
}

async function main(): Promise<void> {
  if (!existsSync(OUR_CLI)) throw new Error('build first: npm run build');
  const dir = await benchDir('tbo-');
  const table = `tsc_bench_ours_${process.pid}`;
  const env: NodeJS.ProcessEnv = { ...process.env, TSC_COMPOSE_RUN_DIR: join(dir, 'run'), TSC_COMPOSE_STATE_DIR: join(dir, 'state'), TSC_COMPOSE_NFT_TABLE: table };
  delete env['CI'];
  delete env['COMPOSE_PROJECT_NAME'];
  const agent = await startAgent(env, process.env['PROF'] === '1' ? ['--cpu-prof', `--cpu-prof-dir=${process.env['PROF_DIR'] ?? '/tmp'}`] : []);
  const projects: Array<{ name: string; proj: string }> = [];
  try {
    await buildOciImage(join(dir, 'layout'), { tag: 'latest', config: { Cmd: ['sh'] } });
    spawnSync('tar', ['-C', join(dir, 'layout'), '-cf', join(dir, 'busybox.tar'), '.']);
    timed(['image', 'load', '-i', join(dir, 'busybox.tar'), '--repository', 'busybox'], dir, env);
    const vers = [0, 1, 2].map(() => timed(['version', '--short'], dir, env));
    console.log(`load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; CLI start (version) ${median(vers).toFixed(0)} ms`);
    for (const n of SIZES) {
      const name = `o${process.pid}n${n}`;
      const proj = join(dir, `p${n}`);
      projects.push({ name, proj });
      await mkdir(proj, { recursive: true });
      await writeFile(join(proj, 'compose.yaml'), generateCompose(n));
      const ups: number[] = [];
      const downs: number[] = [];
      const cpu = { up: [] as Array<{ agent: number; programs: number }>, down: [] as Array<{ agent: number; programs: number }> };
      const pid = agent.proc.pid ?? 0;
      for (let r = 0; r < ROUNDS; r++) {
        let c0 = agentCpu(pid);
        const t0 = threadsCpu(pid);
        ups.push(timed(['--progress', 'quiet', '-p', name, 'up', '-d'], proj, env));
        let c1 = agentCpu(pid);
        if (process.env['THREADS'] === '1') {
          const t1 = threadsCpu(pid);
          console.log(`  up: agent threads' CPU ms: ${[...t1].map(([k, v]) => `${k} ${v - (t0.get(k) ?? 0)}`).join(', ')}`);
        }
        cpu.up.push(minus(c1, c0));
        c0 = c1;
        downs.push(timed(['--progress', 'quiet', '-p', name, 'down'], proj, env));
        c1 = agentCpu(pid);
        cpu.down.push(minus(c1, c0));
      }
      const f = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
      console.log(`${n} services  up -d median ${median(ups).toFixed(0)} ms (${f(ups)})  down median ${median(downs).toFixed(0)} ms (${f(downs)})  CPU (agent+programs) up ${cpuText(cpu.up)} down ${cpuText(cpu.down)} ms  load ${loadavg()[0]?.toFixed(1)}`);
    }
  } finally {
    for (const { name, proj } of projects) spawnSync(process.execPath, [OUR_CLI, '--progress', 'quiet', '-p', name, 'down'], { cwd: proj, env, stdio: 'ignore' });
    await stopProcess(agent.proc);
    spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
