/**
 * bench/raft: our Raft (the KV service, dist/raft/kv/main.js) against etcd (Debian's
 * /usr/bin/etcd), three members each on loopback, fsync on, in the same run under the same
 * load generator: N concurrent HTTP/1.1 keep-alive clients writing 256-byte values to random
 * keys on the leader. Prints throughput and p50/p99 commit latency of each and the ratios, then
 * the time from SIGKILL of the leader to the first successful write.
 *
 *   npx tsx bench/raft/run.ts [CLIENTS=16] [SECONDS=10]
 *
 * Fairness: both run 100 ms heartbeats and a 1 s election timeout (etcd's defaults; ours
 * --tick-ms 100 --election-tick 10), both fsync every write batch, both use mutual TLS between
 * members (etcd: --peer-client-cert-auth with the same CA), both are written to on the leader
 * (a follower would forward or redirect). etcd is reached through its v3 JSON gateway
 * (POST /v3/kv/put, base64 key and value), which costs it a JSON/base64 translation that our
 * plain-text PUT does not pay; etcd v2's API is off by default in 3.4. Both snapshot every
 * 100,000 entries (etcd 3.4's default). Both clusters run at once and take turns under load
 * (BENCH_WINDOW seconds each, alternating), so a shared machine's load falls on both alike; the
 * members' CPU time per write is printed too (it does not depend on the machine's load as much
 * as throughput does).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeClusterPki } from '../../raft/transport/certs.js';
import { type HttpAnswer, httpRequest } from '../../raft/testing/kv-client.js';
import { KvCluster, type KvMemberAddr, freePort } from '../../raft/testing/kv-cluster.js';
import { untilValue } from '../../test/support/poll.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLIENTS = Number(process.argv[2] ?? 16);
const SECONDS = Number(process.argv[3] ?? 10);
/**
 * Entries between snapshots, the same for both: etcd 3.4's default (--snapshot-count 100000);
 * ours defaults to swarmkit's 10,000 (BENCH_SNAPSHOT_EVERY=10000 to see that).
 */
const SNAPSHOT_EVERY = Number(process.env['BENCH_SNAPSHOT_EVERY'] ?? 100_000);
/** Length of one turn under load (BENCH_WINDOW seconds, default 2). */
const WINDOW = Number(process.env['BENCH_WINDOW'] ?? 2);
const VALUE = 'v'.repeat(256);
const IDS = [1, 2, 3];

interface Target {
  name: string;
  /** Sends one write of VALUE to `key` at `addr`; resolves with the answer. */
  put(agent: Agent, addr: string, key: string, timeoutMs?: number): Promise<HttpAnswer>;
  leader(): Promise<string>;
  kill(addr: string): Promise<void>;
  members(): string[];
  /** Pids of the member processes running now (for their CPU time). */
  pids(): number[];
}

interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  /** CPU time (user + system) the members spent per write, in ms. */
  cpuMsPerWrite: number;
}

/** Latencies and counts of one target over several load windows. */
interface Tally {
  lat: number[];
  errors: number;
  seconds: number;
  cpuMs: number;
}

const CLK_TCK = 100;

/** user + system CPU time of a process in ms (0 once it is gone). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** One load window of `seconds` on `t`, added to `tally`. */
async function load(t: Target, agent: Agent, addr: string, seconds: number, tally: Tally): Promise<void> {
  const lat = tally.lat;
  let errors = 0;
  const pids = t.pids();
  const cpu0 = pids.reduce((a, p) => a + cpuMs(p), 0);
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      let i = 0;
      while (performance.now() < end) {
        const t0 = performance.now();
        const a = await t.put(agent, addr, `key-${c}-${i++ % 1000}`).catch(() => undefined);
        if (a?.status === 200) lat.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  tally.seconds += (performance.now() - start) / 1000;
  tally.cpuMs += pids.reduce((a, p) => a + cpuMs(p), 0) - cpu0;
  tally.errors += errors;
}

function summarize(t: Target, tally: Tally): LoadResult {
  const lat = [...tally.lat].sort((a, b) => a - b);
  if (process.env['BENCH_DEBUG'] !== undefined) process.stderr.write(`${t.name} percentiles 50/75/90/95/99: ${[0.5, 0.75, 0.9, 0.95, 0.99].map((p) => pct(lat, p).toFixed(1)).join(' ')}\n`);
  return { ops: lat.length, errors: tally.errors, seconds: tally.seconds, p50: pct(lat, 0.5), p99: pct(lat, 0.99), cpuMsPerWrite: tally.cpuMs / Math.max(1, lat.length) };
}

/**
 * Kills the leader and measures until a write succeeds on a remaining member: a new probe
 * every 20 ms (alternating members, each allowed 3 s), so that one probe stuck waiting for an
 * election does not hide a later one that succeeds.
 */
async function failover(t: Target): Promise<number> {
  const leader = await t.leader();
  const rest = t.members().filter((m) => m !== leader);
  const agent = new Agent({ keepAlive: false });
  await t.kill(leader);
  const t0 = performance.now();
  let done: number | undefined;
  const probes: Promise<unknown>[] = [];
  for (let i = 0; done === undefined; i++) {
    if (performance.now() - t0 > 30_000) throw new Error(`${t.name}: no write succeeded within 30 s of the leader's death`);
    const at = rest[i % rest.length] as string;
    probes.push(
      httpProbe(t, agent, at, `failover-${i}`).then((ok) => {
        if (ok && done === undefined) done = performance.now() - t0;
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(probes);
  agent.destroy();
  return done;
}

async function httpProbe(t: Target, agent: Agent, addr: string, key: string): Promise<boolean> {
  const a = await t.put(agent, addr, key, 3000).catch(() => undefined);
  return a?.status === 200;
}

/** Every member process this run started, killed if the bench dies half-way. */
const children: Map<number, ChildProcess>[] = [];
process.once('exit', () => {
  for (const m of children) for (const p of m.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

async function ours(dir: string, env: string[] = []): Promise<{ target: Target; stop: () => Promise<void> }> {
  const members: KvMemberAddr[] = [];
  for (const id of IDS) {
    const host = `127.0.0.${40 + id}`;
    members.push({ id, http: `${host}:${await freePort(host)}`, raft: `${host}:${await freePort(host)}` });
  }
  const vars = env.filter((e) => !e.startsWith('--'));
  // The KV service's recommended runtime flag (raft/README.md): garbage collection on the main
  // thread only, so a collection never waits for helper threads that a loaded machine starves.
  const nodeFlags = ['--single-threaded-gc', ...env.filter((e) => e.startsWith('--'))];
  const cluster = new KvCluster({ dir, members, prefix: vars.length > 0 ? () => ['/usr/bin/env', ...vars] : undefined, command: [process.execPath, ...nodeFlags, join(ROOT, 'dist/raft/kv/main.js')], cwd: ROOT, args: ['--tick-ms', '100', '--election-tick', '10', '--snapshot-every', String(SNAPSHOT_EVERY), ...(process.env['BENCH_OURS_ARGS'] ?? '').split(' ').filter((a) => a !== '')] });
  children.push(cluster.procs);
  await Promise.all(IDS.map((id) => cluster.start(id)));
  const plain = new Agent({ keepAlive: false });
  const target: Target = {
    name: 'ours',
    put: (agent, addr, key, timeoutMs) => httpRequest(agent, addr, 'PUT', `/kv/${key}`, VALUE, timeoutMs),
    members: () => members.map((m) => m.http),
    pids: () => cluster.pids(),
    leader: () =>
      untilValue('our leader', async () => {
        for (const m of members) {
          const st = JSON.parse((await httpRequest(plain, m.http, 'GET', '/status')).body) as { role: string };
          if (st.role === 'leader') return m.http;
        }
        return undefined;
      }),
    kill: async (addr) => {
      await cluster.kill(members.find((m) => m.http === addr)?.id ?? 0, 'SIGKILL');
    },
  };
  return { target, stop: () => cluster.stopAll() };
}

async function etcd(dir: string): Promise<{ target: Target; stop: () => Promise<void> }> {
  const host = (id: number): string => `127.0.0.${50 + id}`;
  const ports = new Map<number, { client: number; peer: number }>();
  for (const id of IDS) ports.set(id, { client: await freePort(host(id)), peer: await freePort(host(id)) });
  const pkiDir = join(dir, 'etcd-pki');
  mkdirSync(pkiDir, { recursive: true });
  // etcd checks a peer's client certificate against the address it connects from (127.0.0.1).
  const pki = makeClusterPki(pkiDir, IDS, (id) => [host(id), '127.0.0.1']);
  const peerUrl = (id: number): string => `https://${host(id)}:${ports.get(id)?.peer}`;
  const clientAddr = (id: number): string => `${host(id)}:${ports.get(id)?.client}`;
  const initial = IDS.map((id) => `m${id}=${peerUrl(id)}`).join(',');
  const procs = new Map<number, ChildProcess>();
  children.push(procs);
  for (const id of IDS) {
    const f = pki.get(id);
    if (f === undefined) throw new Error('no pki');
    const p = spawn('/usr/bin/etcd', [
      '--name', `m${id}`, '--data-dir', join(dir, `etcd-${id}`),
      '--listen-client-urls', `http://${clientAddr(id)}`, '--advertise-client-urls', `http://${clientAddr(id)}`,
      '--listen-peer-urls', peerUrl(id), '--initial-advertise-peer-urls', peerUrl(id),
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', `bench-${process.pid}`,
      '--peer-cert-file', f.cert, '--peer-key-file', f.key, '--peer-trusted-ca-file', f.ca, '--peer-client-cert-auth',
      '--heartbeat-interval', '100', '--election-timeout', '1000', '--snapshot-count', String(SNAPSHOT_EVERY), '--log-level', process.env['BENCH_DEBUG'] !== undefined ? 'info' : 'error', '--logger', 'zap',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr?.on('data', (d: Buffer) => {
      if (process.env['BENCH_DEBUG'] !== undefined) process.stderr.write(`etcd ${id}: ${d.toString()}`);
    });
    procs.set(id, p);
  }
  const plain = new Agent({ keepAlive: false });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const target: Target = {
    name: 'etcd',
    put: (agent, addr, key, timeoutMs) => httpRequest(agent, addr, 'POST', '/v3/kv/put', JSON.stringify({ key: b64(key), value: b64(VALUE) }), timeoutMs),
    members: () => IDS.map(clientAddr),
    pids: () => [...procs.values()].filter((p) => p.exitCode === null && p.signalCode === null).map((p) => p.pid ?? 0),
    leader: () =>
      untilValue('the etcd leader', async () => {
        for (const id of IDS) {
          const a = await httpRequest(plain, clientAddr(id), 'POST', '/v3/maintenance/status', '{}');
          const st = JSON.parse(a.body) as { header?: { member_id?: string }; leader?: string };
          if (st.leader !== undefined && st.leader === st.header?.member_id) return clientAddr(id);
        }
        return undefined;
      }),
    kill: async (addr) => {
      const id = IDS.find((i) => clientAddr(i) === addr) ?? 0;
      const p = procs.get(id);
      if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
    },
  };
  const stop = async (): Promise<void> => {
    for (const addr of IDS.map(clientAddr)) await target.kill(addr);
  };
  return { target, stop };
}

type Side = { name: string; target: Target; stop: () => Promise<void>; leader: string; agent: Agent; tally: Tally };

function line(name: string, r: LoadResult, failoverMs: number): string {
  return `${name}: ${(r.ops / r.seconds).toFixed(0)} writes/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.errors} errors, member CPU ${r.cpuMsPerWrite.toFixed(3)} ms/write; failover ${failoverMs.toFixed(0)} ms\n`;
}

const load1 = (): string => loadavg()[0]?.toFixed(1) ?? '?';

/**
 * Both clusters run at once and take turns under load in windows of WINDOW seconds (ours,
 * etcd, etcd, ours, ...), so that a shared machine's changing load falls on both alike; then
 * each one's leader is killed for the failover time.
 */
async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist/raft/kv/main.js'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const dir = await mkdtemp(join(tmpdir(), 'bench-raft-'));
  const only = process.env['BENCH_ONLY'];
  const sides: Side[] = [];
  try {
    process.stdout.write(`bench/raft: 3 members on loopback, fsync on, ${CLIENTS} clients, 256-byte values, ${SECONDS} s each in ${WINDOW} s turns; load average ${load1()}\n`);
    // BENCH_AB="VAR=value --node-flag ...": instead of etcd, ours again with those environment
    // variables and node flags (an A/B of one change under the same load).
    const ab = (process.env['BENCH_AB'] ?? '').split(' ').filter((a) => a !== '');
    const makers: [string, (d: string) => Promise<{ target: Target; stop: () => Promise<void> }>][] = [
      ['ours', (d) => ours(d)],
      ab.length > 0 ? ['ours+', (d) => ours(d, ab)] : ['etcd', etcd],
    ];
    for (const [name, make] of makers) {
      if (only !== undefined && only !== name) continue;
      const { target, stop } = await make(join(dir, name));
      const side: Side = { name, target, stop, leader: '', agent: new Agent({ keepAlive: true, maxSockets: CLIENTS }), tally: { lat: [], errors: 0, seconds: 0, cpuMs: 0 } };
      sides.push(side);
      side.leader = await target.leader();
      await load(target, side.agent, side.leader, 1, { lat: [], errors: 0, seconds: 0, cpuMs: 0 }); // warm-up
    }
    const rounds = Math.max(1, Math.round(SECONDS / WINDOW));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? sides : [...sides].reverse();
      for (const s of order) await load(s.target, s.agent, s.leader, SECONDS / rounds, s.tally);
    }
    const results = new Map<string, { load: LoadResult; failoverMs: number }>();
    const loadAfter = load1();
    for (const s of sides) {
      s.agent.destroy();
      const r = summarize(s.target, s.tally);
      const failoverMs = await failover(s.target);
      results.set(s.name, { load: r, failoverMs });
      process.stdout.write(line(s.name, r, failoverMs));
    }
    process.stdout.write(`load average after the load windows: ${loadAfter}\n`);
    const a = results.get('ours');
    const b = results.get('etcd') ?? results.get('ours+');
    if (a !== undefined && b !== undefined) {
      const tput = (r: LoadResult): number => r.ops / r.seconds;
      process.stdout.write(
        `ratio ours/${ab.length > 0 ? `ours+ (${ab.join(' ')})` : 'etcd'}: throughput ${(tput(a.load) / tput(b.load)).toFixed(2)}x, p50 ${(a.load.p50 / b.load.p50).toFixed(2)}x, p99 ${(a.load.p99 / b.load.p99).toFixed(2)}x, CPU/write ${(a.load.cpuMsPerWrite / b.load.cpuMsPerWrite).toFixed(2)}x, failover ${(a.failoverMs / b.failoverMs).toFixed(2)}x (ratios but throughput: lower is better)\n`,
      );
    }
  } finally {
    for (const s of sides) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
