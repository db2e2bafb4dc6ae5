/**
 * Benchmark: `up -d` and `down` of generated projects of N busybox services on one network, ours
 * (built CLI, agent on the bundled runtime) against Debian's docker-compose 1.29 on Debian's
 * Docker Engine, same image tarball, same compose file, same run, rounds interleaved so that
 * load from elsewhere on the machine hits both alike. Prints each median and the ratio
 * (docker-compose time / ours).
 *
 * dockerd is started here with its own data/exec roots and socket under a temp dir, inside a
 * network namespace of its own (`unshare --net`): its bridges and iptables rules live and die
 * with that namespace, so nothing of Docker's is left on the host's network after the run.
 *
 * Run (as root): npx tsx bench/up/run.ts [SIZES=10,50] [ROUNDS=3]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { buildOciImage } from '../../fixtures/oci-image.js';
import { DOCKER, OUR_CLI, dockerLoad, median, startAgent, startDockerd, stopProcess, waitFor } from '../support/docker-peer.js';
import { benchDir } from '../support/bench-dir.js';
import { settle } from '../support/settle.js';
import { generateCompose } from './generate.js';

const SIZES = (process.argv[2] ?? '10,50').split(',').map(Number);
const ROUNDS = Number(process.argv[3] ?? 3);
const COMPOSE = '/usr/bin/docker-compose';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const ourCli = OUR_CLI;
const tag = `b${process.pid}`;

interface Run {
  cmd: string;
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
}

function run({ cmd, args, cwd, env }: Run, timeout = 300_000): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

function timed(r: Run): number {
  settle();
  const t0 = performance.now();
  run(r);
  return performance.now() - t0;
}

/** Processes other than us whose environment names our run dir: agents our CLI started. */
async function strayAgents(runDir: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p)).map(Number);
  const found: number[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    const env = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (env.split('\0').includes(`TSC_COMPOSE_RUN_DIR=${runDir}`) && cmd.split('\0').includes('agent')) found.push(pid);
  }
  return found;
}

function count(out: string): number {
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

async function main(): Promise<void> {
  if (!existsSync(ourCli) || !existsSync(join(repo, 'agent/runtime/native/build/tsc-runtime'))) {
    console.error('building tsc-compose (npm run build) ...');
    run({ cmd: 'npm', args: ['run', 'build'], cwd: repo, env: process.env }, 600_000);
  }
  // short: the runtime's control sockets live under it, and sun_path holds 108 bytes
  const dir = await benchDir('tbu-');
  const table = `tsc_bench_up_${process.pid}`;
  const cgroupParent = `tsc-bench-up-docker-${process.pid}`;
  const ours: NodeJS.ProcessEnv = { ...process.env, TSC_COMPOSE_RUN_DIR: join(dir, 'run'), TSC_COMPOSE_STATE_DIR: join(dir, 'state'), TSC_COMPOSE_NFT_TABLE: table };
  delete ours['CI'];
  delete ours['COMPOSE_PROJECT_NAME'];
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  let dockerd: Awaited<ReturnType<typeof startDockerd>> | undefined;
  let theirs: NodeJS.ProcessEnv = {};
  const projects: Array<{ name: string; proj: string }> = [];
  try {
    await buildOciImage(join(dir, 'layout'), { tag: 'latest', config: { Cmd: ['sh'] } });
    run({ cmd: 'tar', args: ['-C', join(dir, 'layout'), '-cf', join(dir, 'busybox.tar'), '.'], env: process.env });

    agent = await startAgent(ours);
    run({ cmd: process.execPath, args: [ourCli, 'image', 'load', '-i', join(dir, 'busybox.tar'), '--repository', 'busybox'], env: ours });
    dockerd = await startDockerd(join(dir, 'docker'), cgroupParent);
    theirs = { ...process.env, DOCKER_HOST: dockerd.host };
    delete theirs['COMPOSE_PROJECT_NAME'];
    const how = dockerLoad(theirs, dir);
    const dcVersion = run({ cmd: COMPOSE, args: ['version', '--short'], env: theirs }).trim();
    const engine = run({ cmd: DOCKER, args: ['version', '--format', '{{.Server.Version}}'], env: theirs }).trim();
    console.log(`up -d / down, median of ${ROUNDS} rounds; docker-compose ${dcVersion} on Docker Engine ${engine} (image: ${how})`);
    // What a do-nothing invocation of each CLI costs: the floor under every figure below.
    const noop = { dc: [] as number[], ours: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      noop.dc.push(timed({ cmd: COMPOSE, args: ['version', '--short'], env: theirs }));
      noop.ours.push(timed({ cmd: process.execPath, args: [ourCli, 'version', '--short'], env: ours }));
    }
    console.log(`CLI start (version)    docker-compose ${median(noop.dc).toFixed(0).padStart(6)} ms  tsc-compose ${median(noop.ours).toFixed(0).padStart(6)} ms`);

    for (const n of SIZES) {
      const name = `${tag}n${n}`;
      const proj = join(dir, `proj${n}`);
      projects.push({ name, proj });
      await mkdir(proj, { recursive: true });
      await writeFile(join(proj, 'compose.yaml'), generateCompose(n));
      const t = { oursUp: [] as number[], oursDown: [] as number[], dcUp: [] as number[], dcDown: [] as number[] };
      const failed = { ours: [] as string[], dc: [] as string[] };
      const o = { cmd: process.execPath, cwd: proj, env: ours };
      const d = { cmd: COMPOSE, cwd: proj, env: theirs };
      // A failed round is counted and shown, never retried into the medians; the project is
      // then taken down (untimed) so that the next round starts from nothing.
      const round = (who: keyof typeof failed, body: () => void, reset: () => void): void => {
        try {
          body();
        } catch (e) {
          const exited = agent?.proc.exitCode ?? agent?.proc.signalCode ?? null;
          // with our agent gone, any further CLI call would start another one in the background
          if (who === 'ours' && exited !== null) throw new Error(`our agent exited (${exited}) during a round: ${agent?.log() ?? ''}`, { cause: e });
          failed[who].push((e as Error).message.split('\n')[0] ?? '');
          reset();
        }
      };
      // Round -1 warms both sides up and is not counted: a tool's first `up` after it started
      // or loaded the image does one-time work (our agent makes the image's init layer and the
      // host's nft table, and compiles its code) that would otherwise be one of three figures.
      for (let r = -1; r < ROUNDS; r++) {
        const keep = (xs: number[], v: number): void => {
          if (r >= 0) xs.push(v);
        };
        round(
          'ours',
          () => {
            const up = timed({ ...o, args: [ourCli, '--progress', 'quiet', '-p', name, 'up', '-d'] });
            const running = count(run({ ...o, args: [ourCli, '-p', name, 'ps', '-q', '--status', 'running'] }));
            if (running !== n) throw new Error(`${running} of ${n} containers running after up -d`);
            keep(t.oursUp, up);
            keep(t.oursDown, timed({ ...o, args: [ourCli, '--progress', 'quiet', '-p', name, 'down'] }));
          },
          () => spawnSync(o.cmd, [ourCli, '--progress', 'quiet', '-p', name, 'down'], { cwd: proj, env: ours, stdio: 'ignore' }),
        );
        round(
          'dc',
          () => {
            const up = timed({ ...d, args: ['-p', name, 'up', '-d'] });
            const running = count(run({ cmd: DOCKER, args: ['ps', '-q', '--filter', `label=com.docker.compose.project=${name}`], env: theirs }));
            if (running !== n) throw new Error(`${running} of ${n} containers running after up -d`);
            keep(t.dcUp, up);
            keep(t.dcDown, timed({ ...d, args: ['-p', name, 'down'] }));
          },
          () => spawnSync(COMPOSE, ['-p', name, 'down'], { cwd: proj, env: theirs, stdio: 'ignore' }),
        );
      }
      const line = (what: string, dc: number[], us: number[]): void => {
        const a = median(dc);
        const b = median(us);
        const of = (xs: number[]): string => (xs.length === ROUNDS ? '' : ` (${xs.length} of ${ROUNDS})`);
        const each = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');
        console.log(
          `${String(n).padStart(3)} services  ${what.padEnd(6)} docker-compose ${a.toFixed(0).padStart(6)} ms${of(dc)}  tsc-compose ${b.toFixed(0).padStart(6)} ms${of(us)}  ratio ${(a / b).toFixed(1)}x   rounds: ${each(dc)} / ${each(us)}`,
        );
      };
      line('up -d', t.dcUp, t.oursUp);
      line('down', t.dcDown, t.oursDown);
      for (const [who, msgs] of [['tsc-compose', failed.ours], ['docker-compose', failed.dc]] as const) {
        for (const m of msgs) console.log(`    failed round of ${who}: ${m}`);
      }
    }
  } catch (e) {
    if (agent) console.error(`agent stderr (tail, exit ${agent.proc.exitCode ?? agent.proc.signalCode ?? 'running'}):\n${agent.log()}`);
    throw e;
  } finally {
    for (const { name, proj } of projects) {
      // only through our own agent: a CLI finding none would start one in the background
      if (agent?.proc.exitCode === null && agent.proc.signalCode === null) spawnSync(process.execPath, [ourCli, '--progress', 'quiet', '-p', name, 'down'], { cwd: proj, env: ours, stdio: 'ignore' });
      if (dockerd) spawnSync(COMPOSE, ['-p', name, 'down'], { cwd: proj, env: theirs, stdio: 'ignore' });
    }
    await stopProcess(agent?.proc);
    // A CLI that took a dropped connection for a missing agent starts another in the background
    // (same env, so same run dir): find those by their environment and stop them too.
    for (const pid of await strayAgents(join(dir, 'run'))) {
      console.error(`stopping agent ${pid}, started by our CLI in the background during the run`);
      process.kill(pid, 'SIGTERM');
      await waitFor(`agent ${pid} to exit`, () => !existsSync(`/proc/${pid}`), 30_000).catch(() => process.kill(pid, 'SIGKILL'));
    }
    spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
    await stopProcess(dockerd?.proc);
    // containerd-shims and overlay mounts of a dockerd that died uncleanly would pin the temp dir
    const mounts = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir));
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    // dockerd's cgroup parent, in each v1 hierarchy (rmdir removes only an empty cgroup)
    const hierarchies = await readdir('/sys/fs/cgroup').catch(() => []);
    for (const h of hierarchies) await rmdir(join('/sys/fs/cgroup', h, cgroupParent)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
