/**
 * What the benchmarks that race Docker share: our agent and a private dockerd started and
 * stopped, the same busybox tarball loaded into Docker, medians and polling. dockerd runs with
 * its own data/exec roots, socket and pidfile under a temp dir, in a network namespace of its
 * own (`unshare --net`), so nothing of Docker's is left on the host's network after a run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
/** The built CLI, as users run it. */
export const OUR_CLI = join(fileURLToPath(new URL('../..', import.meta.url)), 'dist/cli/main.cjs');

function mustRun(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Polls `ready` until it holds or the deadline passes (no fixed sleeps). */
export async function waitFor(what: string, ready: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function stopProcess(p: ChildProcess | undefined, ms = 30_000): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}

/** Our agent in the foreground, as systemd would run it; resolves once it listens. Its stderr
 * is kept (the tail) so that a failed round can say what the agent said. */
export async function startAgent(env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<{ proc: ChildProcess; log: () => string }> {
  const proc = spawn(process.execPath, [...nodeArgs, OUR_CLI, 'agent'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-8000);
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (err.includes('listening on')) {
        proc.stderr?.off('data', onData);
        resolve();
      }
    };
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`agent exited (${code}): ${err}`)));
  });
  return { proc, log: () => err };
}

/** dockerd in a fresh network namespace (loopback up), everything under `dir`. */
export async function startDockerd(dir: string, cgroupParent: string): Promise<{ proc: ChildProcess; host: string; log: () => Promise<string> }> {
  await mkdir(dir, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const logFile = join(dir, 'dockerd.log');
  const flags = [`--data-root=${join(dir, 'data')}`, `--exec-root=${join(dir, 'exec')}`, `-H=${host}`, `--pidfile=${join(dir, 'docker.pid')}`, '--bridge=none', `--cgroup-parent=/${cgroupParent}`];
  const proc = spawn('unshare', ['--net', '--', 'sh', '-c', `ip link set lo up && exec dockerd ${flags.join(' ')} >${logFile} 2>&1`], { stdio: 'ignore' });
  const log = (): Promise<string> => readFile(logFile, 'utf8').catch(() => '');
  try {
    await waitFor('dockerd', () => {
      if (proc.exitCode !== null) throw new Error(`dockerd exited (${proc.exitCode})`);
      return spawnSync(DOCKER, ['version'], { env: { ...process.env, DOCKER_HOST: host }, stdio: 'ignore' }).status === 0;
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}; dockerd log:\n${(await log()).slice(-3000)}`, { cause: e });
  }
  return { proc, host, log };
}

/** Docker 20.10 may refuse an OCI layout tarball: then convert it with skopeo to a docker-archive. */
export function dockerLoad(env: NodeJS.ProcessEnv, dir: string): string {
  const direct = spawnSync(DOCKER, ['load', '-i', join(dir, 'busybox.tar')], { env, encoding: 'utf8' });
  const tagged = (): boolean => spawnSync(DOCKER, ['image', 'inspect', 'busybox:latest'], { env, stdio: 'ignore' }).status === 0;
  if (direct.status === 0 && tagged()) return 'docker load of the OCI layout tarball';
  mustRun('skopeo', ['copy', '-q', `oci:${join(dir, 'layout')}:latest`, `docker-archive:${join(dir, 'busybox-docker.tar')}:busybox:latest`], env);
  mustRun(DOCKER, ['load', '-i', join(dir, 'busybox-docker.tar')], env);
  if (!tagged()) throw new Error('docker load did not tag busybox:latest');
  return `docker load of a docker-archive made by skopeo (docker load of the OCI layout: ${direct.stderr.trim() || 'no busybox:latest tag'})`;
}
