/**
 * DNS benchmark: dnsperf from inside a container's network namespace against 127.0.0.11, for
 * service names, first against our embedded DNS, then (with --docker) against Docker's embedded
 * DNS on a user network, in the same run. Prints queries per second and latency percentiles
 * for both and the ratios, and where the CPU went per answered query (the server process, dnsperf,
 * the kernel's softirq work): on a 2-core machine both servers and dnsperf share the cores, so
 * throughput is bounded by their sum. Not a test: run it by hand as root.
 *
 *   npx tsx bench/dns/run.ts [--seconds 5] [--rounds 3] [--clients 4] [--threads 2] [--outstanding 100] [--workers 1] [--max-qps 0] [--docker]
 *
 * Docker is started here (dockerd with its own data and exec roots, --iptables=false and
 * --bridge=none so the host's firewall and docker0 stay untouched) and stopped at the end.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildBusyboxRootfs } from '../../fixtures/busybox-rootfs.js';
import { createHostNetworking } from '../../overlay/host-networking.js';
import { createFixture, freeSubnet24, uniqueTag, waitFor } from '../../overlay/testing/netns-fixture.js';

interface Result {
  qps: number;
  /** CPU microseconds per answered query: the load generator, the server, the kernel's softirq work (whole machine). */
  cpu: { dnsperf: number; server: number; softirq: number; idle: number };
  p50: number;
  p99: number;
  avg: number;
  lost: number;
  answered: number;
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const SECONDS = arg('seconds', 5);
const CLIENTS = arg('clients', 4);
const OUTSTANDING = arg('outstanding', 100);
const WITH_DOCKER = process.argv.includes('--docker');
const ROUNDS = arg('rounds', 3);
const WORKERS = arg('workers', 1);
const THREADS = arg('threads', 2);
/** dnsperf -Q: offer both servers the same load, to compare latency at equal throughput (0: as fast as they answer). */
const MAX_QPS = arg('max-qps', 0);

interface Target {
  netns: string;
  /** CPU seconds the DNS server has used so far (ours: this process; Docker: dockerd). */
  serverCpu(): Promise<number>;
  teardown(): Promise<void>;
}

function sh(argv: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const p = spawn(cmd as string, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    p.stdin.end(input ?? '');
  });
}

async function must(argv: string[], input?: string): Promise<string> {
  const r = await sh(argv, input);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const TICK = 100; // USER_HZ: the unit of /proc/stat and /proc/PID/stat times on Linux

/** Whole-machine CPU seconds so far: softirq and idle (the rest is in the processes' figures). */
async function machineCpu(): Promise<{ softirq: number; idle: number }> {
  const f = (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  return { softirq: ((f[5] ?? 0) + (f[6] ?? 0)) / TICK, idle: (f[3] ?? 0) / TICK };
}

/** CPU seconds of a process (all its threads) so far. */
async function processCpu(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

/**
 * Run dnsperf in a namespace (`nsenter --net=PATH`) and read throughput, per-query latency and
 * where the CPU went. Its output goes to a file, not through this process (which is our
 * server: reading 100k lines a second here would be charged to ours).
 */
async function dnsperf(target: Target, datafile: string, out: string): Promise<Result> {
  const argv = ['nsenter', `--net=${target.netns}`, 'dnsperf', '-s', '127.0.0.11', '-d', datafile, '-l', String(SECONDS), '-c', String(CLIENTS), '-T', String(THREADS), '-q', String(OUTSTANDING), ...(MAX_QPS > 0 ? ['-Q', String(MAX_QPS)] : []), '-v'];
  const m0 = await machineCpu();
  const s0 = await target.serverCpu();
  // `times` prints the children's user and system time: dnsperf's own CPU.
  const r = await sh(['sh', '-c', `"$@" > ${out}; times`, 'sh', ...argv]);
  const s1 = await target.serverCpu();
  const m1 = await machineCpu();
  const text = await readFile(out, 'utf8');
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  const completed = Number(/Queries completed:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  const lat: number[] = [];
  let noerror = 0;
  for (const line of text.split('\n')) {
    // "> NOERROR web A 0.000123"
    const m = /^> (\S+) .* ([\d.]+)$/.exec(line);
    if (m) {
      lat.push(Number(m[2]) * 1000);
      if (m[1] === 'NOERROR') noerror++;
    }
  }
  lat.sort((a, b) => a - b);
  const avg = lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length);
  if (Number.isNaN(qps)) throw new Error(`dnsperf gave no figures:\n${text.slice(0, 2000)}\n${r.stderr}`);
  // "0m0.01s 0m0.00s\n0m1.23s 0m2.34s": the second line is the children's user and system time.
  const child = [...(r.stdout.trim().split('\n')[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)].reduce((t, x) => t + Number(x[1]) * 60 + Number(x[2]), 0);
  const us = (sec: number): number => (sec * 1e6) / Math.max(1, completed);
  return {
    qps,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    avg,
    lost,
    answered: noerror,
    cpu: { dnsperf: us(child), server: us(s1 - s0), softirq: us(m1.softirq - m0.softirq), idle: us(m1.idle - m0.idle) },
  };
}

async function setupOurs(names: string[]): Promise<Target> {
  const tag = uniqueTag();
  const fx = createFixture();
  const hn = await createHostNetworking({ table: `tsc_bench_${tag}`, upstreams: [], dnsWorkers: WORKERS });
  const teardown = async (): Promise<void> => {
    await hn.down();
    await fx.cleanup();
  };
  try {
    const net = `b${tag}_net`;
    await hn.createNetwork({ name: net, ipam: { config: [{ subnet: await freeSubnet24() }] } });
    for (const n of names) {
      const ns = await fx.netns(`tscb-${tag}-${n}`);
      await hn.connect({ container: n, netns: ns, service: 'web', networks: [{ network: net }] });
    }
    const client = await fx.netns(`tscb-${tag}-client`);
    await hn.connect({ container: 'client', netns: client, service: 'client', networks: [{ network: net }] });
    const serverCpu = async (): Promise<number> => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    return { netns: client, serverCpu, teardown };
  } catch (e) {
    await teardown();
    throw e;
  }
}

async function setupDocker(dir: string, names: string[]): Promise<Target> {
  const sock = join(dir, 'docker.sock');
  const docker = (...a: string[]): Promise<string> => must(['docker', '-H', `unix://${sock}`, ...a]);
  const daemon: ChildProcess = spawn(
    'dockerd',
    ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'), '-H', `unix://${sock}`,
      '--iptables=false', '--ip6tables=false', '--bridge=none', '--userland-proxy=false'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  daemon.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  const net = `tscbench${uniqueTag()}`;
  const teardown = async (): Promise<void> => {
    await sh(['docker', '-H', `unix://${sock}`, 'rm', '-f', ...names, 'client']);
    await sh(['docker', '-H', `unix://${sock}`, 'network', 'rm', net]);
    daemon.kill('SIGTERM');
    if (daemon.exitCode === null) await new Promise((r) => daemon.once('close', r));
  };
  try {
    if (!(await waitFor(async () => (await sh(['docker', '-H', `unix://${sock}`, 'version'])).code === 0, 60_000, 250))) {
      throw new Error(`dockerd did not come up:\n${log.slice(-2000)}`);
    }
    const rootfs = await buildBusyboxRootfs(join(dir, 'rootfs'));
    const tar = await new Promise<Buffer>((resolve) => {
      const p = spawn('tar', ['-C', rootfs, '-c', '.']);
      const parts: Buffer[] = [];
      p.stdout.on('data', (b: Buffer) => parts.push(b));
      p.on('close', () => resolve(Buffer.concat(parts)));
    });
    await new Promise<void>((resolve, reject) => {
      const p = spawn('docker', ['-H', `unix://${sock}`, 'import', '-', 'tsc-bench-busybox:latest'], { stdio: ['pipe', 'ignore', 'inherit'] });
      p.on('close', (c) => (c === 0 ? resolve() : reject(new Error('docker import failed'))));
      p.stdin.end(tar);
    });
    await docker('network', 'create', '--subnet', await freeSubnet24(), net);
    for (const n of names) await docker('run', '-d', '--name', n, '--network', net, '--network-alias', 'web', 'tsc-bench-busybox', 'sleep', '3600');
    await docker('run', '-d', '--name', 'client', '--network', net, 'tsc-bench-busybox', 'sleep', '3600');
    const pid = (await docker('inspect', '-f', '{{.State.Pid}}', 'client')).trim();
    const dockerd = daemon.pid as number;
    return { netns: `/proc/${pid}/ns/net`, serverCpu: () => processCpu(dockerd), teardown };
  } catch (e) {
    await teardown();
    throw e;
  }
}

function median(xs: Result[]): Result {
  const sorted = [...xs].sort((a, b) => a.qps - b.qps);
  return sorted[Math.floor(sorted.length / 2)] as Result;
}

function show(label: string, r: Result): string {
  const c = r.cpu;
  return `${label.padEnd(9)} ${r.qps.toFixed(0).padStart(8)} q/s   p50 ${r.p50.toFixed(3)} ms   p99 ${r.p99.toFixed(3)} ms   avg ${r.avg.toFixed(3)} ms   lost ${r.lost}   ` +
    `cpu us/query: server ${c.server.toFixed(1)} dnsperf ${c.dnsperf.toFixed(1)} softirq ${c.softirq.toFixed(1)} idle ${c.idle.toFixed(1)}   load ${loadavg()[0]?.toFixed(1)}`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-bench-dns-'));
  const names = ['bench-web-1', 'bench-web-2', 'bench-web-3'];
  const datafile = join(dir, 'queries.txt');
  await writeFile(datafile, ['web A', ...names.map((n) => `${n} A`), 'web A'].join('\n') + '\n');
  const targets: { label: string; target: Target }[] = [];
  try {
    console.log(`dnsperf ${SECONDS}s x ${ROUNDS} rounds (alternating), ${CLIENTS} clients, ${THREADS} threads, ${OUTSTANDING} outstanding${MAX_QPS > 0 ? `, at most ${MAX_QPS} q/s` : ''}, ${WORKERS} DNS worker threads; service names at 127.0.0.11 from inside a container`);
    targets.push({ label: 'ours', target: await setupOurs(names) });
    if (WITH_DOCKER) targets.push({ label: 'docker', target: await setupDocker(dir, names) });
    const results = new Map<string, Result[]>(targets.map((t) => [t.label, []]));
    // Alternate so that the machine's load (other work on it) falls on both alike.
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const res = await dnsperf(t.target, datafile, join(dir, 'dnsperf.out'));
        results.get(t.label)?.push(res);
        console.log(show(`${t.label}#${r + 1}`, res));
      }
    }
    const ours = median(results.get('ours') ?? []);
    console.log(show('ours', ours) + '   (median round)');
    if (WITH_DOCKER) {
      const theirs = median(results.get('docker') ?? []);
      console.log(show('docker', theirs) + '   (median round)');
      console.log(`ratio    throughput ${(ours.qps / theirs.qps).toFixed(2)}x   p99 ${(ours.p99 / theirs.p99).toFixed(2)}x (ours / docker)`);
    } else {
      console.log('docker   not run (pass --docker to start dockerd and compare)');
    }
  } finally {
    for (const t of targets.reverse()) await t.target.teardown();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
