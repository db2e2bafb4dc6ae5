/**
 * Benchmark: `config` on a generated 1,000-service project (anchors, an override file,
 * interpolation), ours against Debian's docker-compose 1.29 (`/usr/bin/docker-compose config`)
 * in the same run. Prints each figure and the ratio. Run: `npx tsx bench/config/run.ts [N]`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { renderConfig } from '../../schema/config-output.js';
import { loadProject } from '../../schema/load.js';
import { generateProject } from './generate.js';

const SERVICES = Number(process.argv[2] ?? 1000);
const ROUNDS = 5;
const PEER = '/usr/bin/docker-compose';

const root = fileURLToPath(new URL('../..', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function timeProcess(cmd: string, args: string[], cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28, env: { PATH: process.env.PATH ?? '' } });
  const ms = performance.now() - t0;
  // the last line of a traceback is its error
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), 'tsc-bench-config-'));
try {
  generateProject(dir, SERVICES);
  console.log(`config on ${SERVICES} services (anchors, override file, interpolation), median of ${ROUNDS} rounds`);

  const inProcess: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const r = loadProject({ cwd: dir, shell: {} });
    renderConfig(r.tree, 'yaml');
    inProcess.push(performance.now() - t0);
  }

  // our CLI as users run it: the built tree `npm install` makes (dist/, with the precompiled
  // schema validator).
  const bundle = join(root, 'dist', 'cli', 'main.cjs');
  // always rebuilt: a stale dist/ would time yesterday's code
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr}`);
  const [ourCmd, ourArgs] = [process.execPath, [bundle, 'config']];
  // Rounds alternate (the VM's speed drifts over minutes). docker-compose 1.29 sometimes dies on
  // this project (a RecursionError in its sort_services on the 1,000-long depends_on chain): a
  // failed round is shown and left out of its median, never retried in.
  const ours: number[] = [];
  const peer: number[] | undefined = existsSync(PEER) ? [] : undefined;
  const peerFailures: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    ours.push(timeProcess(ourCmd, ourArgs, dir));
    if (peer === undefined) continue;
    try {
      peer.push(timeProcess(PEER, ['config'], dir));
    } catch (e) {
      peerFailures.push((e as Error).message.replace(/^.*?failed \(\d+\): /, ''));
    }
  }

  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  console.log(`tsc-compose loadProject+render (in process): ${ms(median(inProcess))}`);
  console.log(`tsc-compose config (process):                ${ms(median(ours))}`);
  if (peer === undefined) {
    console.log(`docker-compose 1.29 config: not installed at ${PEER}`);
  } else if (peer.length === 0) {
    console.log(`docker-compose 1.29 config: failed in every round (${peerFailures[0] ?? ''})`);
  } else {
    const of = peer.length === ROUNDS ? '' : ` (${peer.length} of ${ROUNDS} rounds; failed: ${peerFailures.join('; ')})`;
    console.log(`docker-compose 1.29 config (process):        ${ms(median(peer))}${of}`);
    console.log(`ratio docker-compose / tsc-compose (process): ${(median(peer) / median(ours)).toFixed(1)}x`);
    console.log(`ratio docker-compose / tsc-compose (in process): ${(median(peer) / median(inProcess)).toFixed(1)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
