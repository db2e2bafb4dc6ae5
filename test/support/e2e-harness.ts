/**
 * A real one-host environment for end-to-end tests: temp state and run directories, an
 * nftables table of its own, the offline busybox image as an archive, an agent process, and a
 * `cli()` that runs `tsc-compose` as a user would. `dispose()` takes the project down and
 * removes everything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildOciImage } from '../../fixtures/oci-image.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(repo, 'node_modules/.bin/tsx');
const main = join(repo, 'cli/main.ts');
/**
 * The CLI and agent as run: from the sources (tsx), or with `TSC_E2E_CLI=built` the built
 * binary (dist/cli/main.cjs and its bundle, `npm run build` first).
 */
const builtCli = process.env['TSC_E2E_CLI'] === 'built';
const cliArgv = builtCli ? [process.execPath, join(repo, 'dist/cli/main.cjs')] : [tsx, main];
const agentArgv = builtCli ? [join(repo, 'dist/cli/main.cjs'), 'agent'] : ['--import', 'tsx', main, 'agent'];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface E2eHost {
  dir: string;
  project: string;
  table: string;
  /** Start `tsc-compose ARGS` in the project directory without waiting (attach, logs -f, watch). */
  spawnCli(args: string[]): ChildProcess;
  /** The agent's parent cgroup (its own, so that its removal is checked apart from other agents'). */
  cgroupParent: string;
  /** Run `tsc-compose ARGS` in the project directory (`input` on its stdin). */
  cli(args: string[], timeoutMs?: number, input?: string): CliResult;
  /** The command line and environment `cli` runs with, for tests that run it their own way (under a pty). */
  command: { argv: string[]; env: NodeJS.ProcessEnv; cwd: string };
  /** Start the agent (again). */
  startAgent(): Promise<void>;
  /** SIGKILL the agent, as a crash would. */
  killAgent(): Promise<void>;
  dispose(): Promise<void>;
}

export async function createE2eHost(name: string, files: Record<string, string>): Promise<E2eHost> {
  const dir = await mkdtemp(join(tmpdir(), `tsc-${name}-`));
  const project = `${name}${process.pid}`;
  const table = `tsc_${name}_${process.pid}`;
  const cgroupParent = `/tsc-e2e-${name}-${process.pid}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TSC_COMPOSE_RUN_DIR: join(dir, 'run'),
    TSC_COMPOSE_STATE_DIR: join(dir, 'state'),
    TSC_COMPOSE_NFT_TABLE: table,
    TSC_COMPOSE_CGROUP_PARENT: cgroupParent,
    COMPOSE_PROJECT_NAME: project,
  };
  delete env['CI'];
  await buildOciImage(join(dir, 'layout'), { tag: 'latest', config: { Cmd: ['sh'] } });
  spawnSync('tar', ['-C', join(dir, 'layout'), '-cf', join(dir, 'busybox.tar'), '.']);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(dir, 'proj', file, '..'), { recursive: true });
    await writeFile(join(dir, 'proj', file), text);
  }
  let agent: ChildProcess | undefined;

  const host: E2eHost = {
    dir,
    project,
    table,
    cgroupParent,
    command: { argv: cliArgv, env, cwd: join(dir, 'proj') },
    cli(args, timeoutMs = 60_000, input) {
      const r = spawnSync(cliArgv[0] as string, [...cliArgv.slice(1), ...args], { cwd: join(dir, 'proj'), env, encoding: 'utf8', timeout: timeoutMs, ...(input === undefined ? {} : { input }) });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    spawnCli(args) {
      return spawn(cliArgv[0] as string, [...cliArgv.slice(1), ...args], { cwd: join(dir, 'proj'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    async startAgent() {
      // node itself (with tsx's loader), not the tsx wrapper: a SIGKILL must reach the agent.
      const child = spawn(process.execPath, agentArgv, { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        let err = '';
        child.stderr?.on('data', (b: Buffer) => {
          err += b.toString();
          if (err.includes('listening on')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`agent exited (${code}): ${err}`)));
      });
      agent = child;
    },
    async killAgent() {
      const a = agent;
      if (a === undefined || a.exitCode !== null) return;
      a.kill('SIGKILL');
      await new Promise((r) => a.once('exit', r));
    },
    async dispose() {
      host.cli(['--profile', '*', 'down', '-v', '--remove-orphans']);
      const a = agent;
      if (a !== undefined && a.exitCode === null) {
        a.kill('SIGTERM');
        await new Promise((r) => a.once('exit', r));
      }
      spawnSync('nft', ['delete', 'table', 'inet', table]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await host.startAgent();
  const load = host.cli(['image', 'load', '-i', join(dir, 'busybox.tar'), '--repository', 'busybox']);
  if (load.status !== 0) throw new Error(`image load failed: ${load.stderr}`);
  return host;
}
