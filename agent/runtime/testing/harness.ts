/**
 * Test support for runtime suites: one busybox rootfs per suite, a --root per runtime, and
 * `runScript`, which runs a shell script in a fresh bundle under a given runtime and returns
 * what the script printed (through a bind-mounted output directory) and the exit code.
 * Test-only: imports fixtures/.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildBusyboxRootfs } from '../../../fixtures/busybox-rootfs.js';
import { bundledRuntimePath } from '../bundled-runtime-path.js';
import { createRuntimeClient } from '../runtime-client.js';
import type { RuntimeClient } from '../runtime-client.js';
import { defaultSpec } from '../spec.js';
import type { Spec } from '../spec.js';
import { writeBundle } from '../write-bundle.js';

export const RUNC = '/usr/sbin/runc';

export interface Runtime {
  name: 'runc' | 'tsc-runtime';
  client: RuntimeClient;
  root: string;
}

export interface Harness {
  dir: string;
  rootfs: string;
  runc: Runtime;
  ours: Runtime;
  both: Runtime[];
  /** Remember a container so cleanup() force-deletes it even when its test failed midway. */
  track(rt: Runtime, id: string): string;
  cleanup(): Promise<void>;
}

/** Builds the bundled runtime if needed (the suite may run before `npm run build`). */
export function ensureBuilt(): string {
  const native = join(import.meta.dirname, '..', 'native');
  execFileSync('make', ['-s', '-C', native], { stdio: 'inherit' });
  return bundledRuntimePath();
}

export async function setupHarness(): Promise<Harness> {
  const bin = ensureBuilt();
  const dir = await mkdtemp(join(tmpdir(), 'tsc-rt-'));
  await chmod(dir, 0o755); // reachable from inside user namespaces
  const rootfs = await buildBusyboxRootfs(join(dir, 'rootfs'));
  const runc: Runtime = { name: 'runc', root: join(dir, 'runc-root'), client: createRuntimeClient({ binary: RUNC, root: join(dir, 'runc-root') }) };
  const ours: Runtime = { name: 'tsc-runtime', root: join(dir, 'tsc-root'), client: createRuntimeClient({ binary: bin, root: join(dir, 'tsc-root') }) };
  const tracked: [Runtime, string][] = [];
  return {
    dir,
    rootfs,
    runc,
    ours,
    both: [runc, ours],
    track(rt, id) {
      tracked.push([rt, id]);
      return id;
    },
    async cleanup() {
      for (const [rt, id] of tracked) {
        if (existsSync(join(rt.root, id))) await rt.client.delete(id, { force: true }).catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
/** A name no other test (of any agent on this kernel) uses at the same time. */
export function uniqueId(prefix = 'c'): string {
  counter += 1;
  return `tsc-rt-${prefix}-${process.pid}-${counter}-${randomBytes(3).toString('hex')}`;
}

/** A spec for a test container: Docker's defaults, read-only busybox root, unique cgroup. */
export function testSpec(h: Harness, id: string, args: string[]): Spec {
  const spec = defaultSpec({ args, rootfs: h.rootfs, hostname: 'box', cgroupsPath: `/${id}` });
  spec.root.readonly = true;
  return spec;
}

export interface ScriptResult {
  code: number;
  out: string;
  id: string;
}

/**
 * Runs `sh -c script` in the foreground under rt, with /out bind-mounted read-write; stdout and
 * stderr of the script land in /out/o. `edit` adjusts the spec first; `files` go into the bundle.
 */
export async function runScript(
  h: Harness,
  rt: Runtime,
  script: string,
  edit: (s: Spec) => void = () => {},
  files: ReadonlyMap<string, Buffer> = new Map(),
): Promise<ScriptResult> {
  const id = uniqueId(rt.name === 'runc' ? 'r' : 't');
  const bundle = join(h.dir, 'bundles', id);
  const out = join(bundle, 'out');
  await mkdir(out, { recursive: true });
  await chmod(out, 0o777);
  const spec = testSpec(h, id, ['sh', '-c', `exec >/out/o 2>&1; ${script}`]);
  spec.mounts?.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  edit(spec);
  await writeBundle(bundle, spec);
  for (const [name, data] of files) await writeFile(join(bundle, name), data);
  try {
    const code = await rt.client.run(id, { bundle });
    const text = existsSync(join(out, 'o')) ? await readFile(join(out, 'o'), 'utf8') : '';
    return { code, out: text, id };
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}

/** Cgroup directories named after id that still exist in any v1 hierarchy or in v2. */
export function leftoverCgroups(id: string): string[] {
  const found: string[] = [];
  for (const h of ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd', 'unified']) {
    const p = join('/sys/fs/cgroup', h, id);
    if (existsSync(p)) found.push(p);
  }
  return found;
}

/** Host mounts whose path mentions s. */
export async function leftoverMounts(s: string): Promise<string[]> {
  const mi = await readFile('/proc/self/mountinfo', 'utf8');
  return mi.split('\n').filter((l) => l.includes(s));
}
