/**
 * One RUN step in a container of the bundled runtime (or any OCI runtime): Docker's default
 * capabilities, masked paths and seccomp profile, the step's user, working directory and
 * environment, on the build's overlay mount. `run` in the foreground: the runtime removes the
 * container's state and cgroups when it exits, and its stdout/stderr come back through pipes
 * as the step's output.
 *
 * Network: `default` and `host` share the host's network namespace (the step reaches what the
 * host reaches, with its resolv.conf and hosts bound read-only); `none` gets a namespace of its
 * own with only loopback.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import { runtimeMessage } from '../runtime/runtime-client.js';
import { writeSeccomp } from '../runtime/seccomp/write-seccomp.js';
import { defaultSpec, type Mount, type Spec } from '../runtime/spec.js';
import { writeBundle } from '../runtime/write-bundle.js';

export type BuildNetwork = 'default' | 'host' | 'none';

export interface RunStepOptions {
  binary: string;
  /** The runtime's `--root`. */
  runtimeRoot: string;
  id: string;
  /** Where config.json (and seccomp.bpf) go. */
  bundleDir: string;
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  network: BuildNetwork;
  /** `--add-host` / compose `extra_hosts` lines for /etc/hosts (host:ip). */
  extraHosts?: string[] | undefined;
  shmSizeBytes?: number | undefined;
  /** A file of the host's to bind as /etc/hosts (written by the caller, extra hosts added). */
  hostsFile?: string | undefined;
  onOutput?: ((chunk: string, stream: 'stdout' | 'stderr') => void) | undefined;
  /** Kills the step's container when aborted. */
  signal?: AbortSignal | undefined;
}

/** The mount destinations a step's container gets: the runtime creates the missing ones. */
export function stepMountTargets(spec: Spec): string[] {
  return (spec.mounts ?? []).map((m) => m.destination);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** The OCI config of a step's container. */
export async function stepSpec(o: RunStepOptions): Promise<Spec> {
  const base = defaultSpec({ args: o.args, env: o.env, rootfs: o.rootfs, hostname: o.id.slice(0, 12) });
  const mounts: Mount[] = (base.mounts ?? []).map((m) =>
    m.destination === '/dev/shm' && o.shmSizeBytes !== undefined
      ? { ...m, options: [...(m.options ?? []).filter((x) => !x.startsWith('size=')), `size=${Math.floor(o.shmSizeBytes / 1024)}k`] }
      : m,
  );
  if (o.network !== 'none') {
    if (await exists('/etc/resolv.conf')) mounts.push({ destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'ro'] });
    if (o.hostsFile !== undefined) mounts.push({ destination: '/etc/hosts', type: 'bind', source: o.hostsFile, options: ['rbind', 'ro'] });
  }
  const namespaces = (base.linux?.namespaces ?? []).filter((n) => n.type !== 'network' || o.network === 'none');
  return {
    ...base,
    process: {
      ...base.process,
      args: o.args,
      env: o.env,
      cwd: o.cwd,
      user: { uid: o.user.uid, gid: o.user.gid, ...(o.user.additionalGids.length === 0 ? {} : { additionalGids: o.user.additionalGids }) },
    },
    mounts,
    linux: { ...base.linux, namespaces },
  };
}

/** Run the step; resolves with its exit code and the runtime's own error message, if any. */
export async function runStep(o: RunStepOptions): Promise<{ exitCode: number; message: string }> {
  const spec = await writeSeccomp(o.bundleDir, await stepSpec(o), 'default');
  await writeBundle(o.bundleDir, spec);
  const log = join(o.bundleDir, `runtime-${randomUUID()}.log`);
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(o.binary, ['--root', o.runtimeRoot, '--log', log, '--log-format', 'json', 'run', '--bundle', o.bundleDir, o.id], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (b: Buffer) => o.onOutput?.(b.toString('utf8'), 'stdout'));
      child.stderr.on('data', (b: Buffer) => o.onOutput?.(b.toString('utf8'), 'stderr'));
      const kill = (): void => {
        // The container, not just the runtime's foreground process: then `run` cleans up as usual.
        spawn(o.binary, ['--root', o.runtimeRoot, 'kill', o.id, 'SIGKILL'], { stdio: 'ignore' }).on('error', () => {});
      };
      if (o.signal?.aborted === true) kill();
      o.signal?.addEventListener('abort', kill, { once: true });
      child.on('close', () => o.signal?.removeEventListener('abort', kill));
      child.on('error', (e) => reject(new TscError('ERR_RUNTIME', `cannot start the container runtime ${o.binary}: ${e.message}`, { cause: e })));
      child.on('close', (code, signal) => {
        void readFile(log, 'utf8')
          .catch(() => '')
          .then((text) => resolve({ exitCode: code ?? 128 + (signal === null ? 0 : 9), message: code === 0 ? '' : runtimeMessage(text) }));
      });
    });
  } finally {
    await rm(log, { force: true });
  }
}
