/**
 * Benchmark: a multi-stage Dockerfile built cold (`--no-cache`) and fully cached, ours
 * (`tsc-compose build`, the built CLI, agent on the bundled runtime) against Debian's
 * docker.io `docker build` with the legacy builder (DOCKER_BUILDKIT=0), same Dockerfile, same
 * context, same base image tarball, same run, rounds interleaved. RUN steps use network `none`
 * on both sides (the bench's dockerd has no bridge). Prints each median and the ratio
 * (docker time / ours).
 *
 * dockerd is started here with its own data-root, exec-root, socket and pidfile under a temp
 * dir, inside a network namespace of its own, and torn down at the end with all it made.
 *
 * Run (as root): npx tsx bench/build/run.ts [ROUNDS=3]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { buildOciImage } from '../../fixtures/oci-image.js';
import { DOCKER, OUR_CLI, dockerLoad, median, startAgent, startDockerd, stopProcess } from '../support/docker-peer.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const ourCli = OUR_CLI;

const DOCKERFILE = `FROM busybox AS build
WORKDIR /src
COPY src/ ./
RUN mkdir -p /out && for i in $(seq 1 500); do echo "line $i" >> /out/generated.txt; done && cp -r /src /out/src
RUN rm -rf /out/src/scratch && tar -cf /out/src.tar -C /out src

FROM busybox
ARG VERSION=1
LABEL version=$VERSION
COPY --from=build /out /app
RUN echo "built $VERSION" > /app/done && rm /bin/yes
WORKDIR /app
CMD ["ls", "/app"]
`;

interface Run {
  cmd: string;
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
}

function run({ cmd, args, cwd, env }: Run, timeout = 600_000): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  return r.stdout + r.stderr;
}

function timed(r: Run): { ms: number; out: string } {
  const t0 = performance.now();
  const out = run(r);
  return { ms: performance.now() - t0, out };
}

async function writeContext(proj: string): Promise<void> {
  const src = join(proj, 'app/src');
  await mkdir(join(src, 'scratch'), { recursive: true });
  for (let i = 0; i < 200; i++) await writeFile(join(src, `file${i}.txt`), `file ${i}\n`.repeat(20));
  await writeFile(join(src, 'blob.bin'), randomBytes(8 << 20));
  await writeFile(join(src, 'scratch/tmp.txt'), 'scratch\n');
  await writeFile(join(proj, 'app/Dockerfile'), DOCKERFILE);
  await writeFile(join(proj, 'compose.yaml'), 'services:\n  app:\n    build:\n      context: ./app\n      network: none\n');
}

async function main(): Promise<void> {
  if (!existsSync(ourCli) || !existsSync(join(repo, 'agent/runtime/native/build/tsc-runtime'))) {
    console.error('building tsc-compose (npm run build) ...');
    run({ cmd: 'npm', args: ['run', 'build'], cwd: repo, env: process.env });
  }
  const dir = await mkdtemp(join(tmpdir(), 'tbb-'));
  const cgroupParent = `tsc-bench-build-docker-${process.pid}`;
  const name = `bb${process.pid}`;
  const ours: NodeJS.ProcessEnv = { ...process.env, TSC_COMPOSE_RUN_DIR: join(dir, 'run'), TSC_COMPOSE_STATE_DIR: join(dir, 'state'), TSC_COMPOSE_NFT_TABLE: `tsc_bench_build_${process.pid}` };
  delete ours['CI'];
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  let dockerd: Awaited<ReturnType<typeof startDockerd>> | undefined;
  try {
    await buildOciImage(join(dir, 'layout'), { tag: 'latest', config: { Cmd: ['sh'] } });
    run({ cmd: 'tar', args: ['-C', join(dir, 'layout'), '-cf', join(dir, 'busybox.tar'), '.'], env: process.env });
    const proj = join(dir, 'proj');
    await writeContext(proj);

    agent = await startAgent(ours);
    run({ cmd: process.execPath, args: [ourCli, 'image', 'load', '-i', join(dir, 'busybox.tar'), '--repository', 'busybox'], env: ours });
    dockerd = await startDockerd(join(dir, 'docker'), cgroupParent);
    const theirs: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: dockerd.host, DOCKER_BUILDKIT: '0' };
    const how = dockerLoad(theirs, dir);
    const engine = run({ cmd: DOCKER, args: ['version', '--format', '{{.Server.Version}}'], env: theirs }).trim();
    console.log(`multi-stage build (2 stages, 4 RUN, 3 COPY, 8 MiB + 200 files of context), median of ${ROUNDS} rounds;`);
    console.log(`docker build (legacy builder, DOCKER_BUILDKIT=0) on Docker Engine ${engine}; base image: ${how}`);

    const o = { cmd: process.execPath, cwd: proj, env: ours };
    const d = { cmd: DOCKER, cwd: join(proj, 'app'), env: theirs };
    const ourBuild = (extra: string[]) => timed({ ...o, args: [ourCli, '--progress', 'plain', '-p', name, 'build', ...extra] });
    const theirBuild = (extra: string[]) => timed({ ...d, args: ['build', '--network', 'none', '-t', `${name}-app`, ...extra, '.'] });
    const t = { oursCold: [] as number[], oursCached: [] as number[], dcCold: [] as number[], dcCached: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      const oc = ourBuild(['--no-cache']);
      if (/CACHED/.test(oc.out)) throw new Error(`our --no-cache build used the cache:\n${oc.out}`);
      t.oursCold.push(oc.ms);
      const ow = ourBuild([]);
      const steps = ow.out.split('\n').filter((l) => /\] (RUN|COPY) /.test(l));
      if (steps.length === 0 || !steps.every((l) => l.endsWith('CACHED'))) throw new Error(`our second build was not fully cached:\n${ow.out}`);
      t.oursCached.push(ow.ms);
      t.dcCold.push(theirBuild(['--no-cache']).ms);
      const dw = theirBuild([]);
      if ((dw.out.match(/Using cache/g) ?? []).length < 7) throw new Error(`docker's second build was not fully cached:\n${dw.out}`);
      t.dcCached.push(dw.ms);
    }
    const line = (what: string, dc: number[], us: number[]): void => {
      const a = median(dc);
      const b = median(us);
      console.log(`${what.padEnd(12)} docker build ${a.toFixed(0).padStart(6)} ms  tsc-compose build ${b.toFixed(0).padStart(6)} ms  ratio ${(a / b).toFixed(2)}x`);
    };
    line('cold', t.dcCold, t.oursCold);
    line('fully cached', t.dcCached, t.oursCached);
  } finally {
    await stopProcess(agent?.proc);
    await stopProcess(dockerd?.proc);
    const mounts = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir));
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    const hierarchies = await readdir('/sys/fs/cgroup').catch(() => []);
    for (const h of hierarchies) await rmdir(join('/sys/fs/cgroup', h, cgroupParent)).catch(() => undefined);
    spawnSync('nft', ['delete', 'table', 'inet', `tsc_bench_build_${process.pid}`], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
