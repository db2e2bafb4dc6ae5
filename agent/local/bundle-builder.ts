/**
 * Writes a container's OCI bundle: the files the agent makes for it (hosts, hostname,
 * resolv.conf, secrets and configs) under `<dir>/files/`, named volumes resolved to their
 * directories (and filled from the image the first time, as Docker does), missing bind
 * sources created where the short syntax allows, then config.json from `buildOciSpec`.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { TscError } from '../../lib/errors.js';
import type { ContainerSpec } from '../api/types.js';
import type { BundleBuilder } from '../backends.js';
import { buildOciSpec } from '../oci-spec.js';
import { resolveUser } from '../resolve-user.js';
import type { SeccompProfile } from '../runtime/seccomp/profile.js';
import { writeSeccomp, type SeccompSetting } from '../runtime/seccomp/write-seccomp.js';
import { writeBundle } from '../runtime/write-bundle.js';
import { volumeMountSource, type VolumeStore } from '../volumes.js';

const run = promisify(execFile);

export interface LocalBundleBuilderOptions {
  volumes: VolumeStore;
  /** Parent cgroup of every container (`/tsc-compose`). */
  cgroupParent: string;
  /** Where compiled default seccomp programs are kept, shared by containers (else one per bundle). */
  seccompDir?: string;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function isEmptyDir(p: string): Promise<boolean> {
  return (await readdir(p).catch(() => [])).length === 0;
}

/**
 * The seccomp profile a container runs under, as Docker picks it: Docker's default, none for
 * `privileged` or `security_opt: [seccomp=unconfined]`, or a custom JSON profile file.
 */
export async function seccompSetting(spec: ContainerSpec): Promise<SeccompSetting> {
  if (spec.privileged) return 'unconfined';
  const opt = spec.securityOpt.find((o) => /^seccomp[=:]/.test(o));
  if (opt === undefined) return 'default';
  const value = opt.slice('seccomp='.length);
  if (value === 'unconfined') return 'unconfined';
  try {
    return JSON.parse(await readFile(value, 'utf8')) as SeccompProfile;
  } catch (cause) {
    throw new TscError('ERR_COMPOSE_INVALID', `opening seccomp profile (${value}) failed: ${cause instanceof Error ? cause.message : String(cause)}`, { path: `services.${spec.labels['com.docker.compose.service'] ?? spec.name}.security_opt`, cause });
  }
}

export function createLocalBundleBuilder(opts: LocalBundleBuilderOptions): BundleBuilder {
  return {
    async refreshEtc(dir, etc) {
      const filesDir = join(dir, 'files');
      // written in place: the container's bind mount holds the inode, a rename would not show
      for (const [name, content] of [['hosts', etc.hosts], ['hostname', etc.hostname], ['resolv.conf', etc.resolvConf]] as const) {
        if (await exists(join(filesDir, name))) await writeFile(join(filesDir, name), content);
      }
    },

    async write(a) {
      const filesDir = join(a.dir, 'files');
      await mkdir(filesDir, { recursive: true, mode: 0o700 });
      const files: Array<{ target: string; source: string; readOnly: boolean }> = [];
      // The image's users are read while the agent's files are written (independent of each other).
      const users = Promise.all([readFile(join(a.rootfs, 'etc/passwd'), 'utf8').catch(() => ''), readFile(join(a.rootfs, 'etc/group'), 'utf8').catch(() => '')]);
      // The OCI bundle (config.json) sits beside the files it mounts: a directory fewer per start.
      const bundleDir = filesDir;
      if (a.etc !== undefined) {
        const etcFiles = [
          ['hosts', '/etc/hosts', a.etc.hosts],
          ['hostname', '/etc/hostname', a.etc.hostname],
          ['resolv.conf', '/etc/resolv.conf', a.etc.resolvConf],
        ] as const;
        await Promise.all(etcFiles.map(([name, , content]) => writeFile(join(filesDir, name), content, { mode: 0o644 })));
        for (const [name, target] of etcFiles) files.push({ target, source: join(filesDir, name), readOnly: false });
      }
      let n = 0;
      for (const m of a.spec.mounts) {
        if (m.type !== 'file') continue;
        const source = join(filesDir, `mount-${n++}`);
        await writeFile(source, m.content, { mode: m.mode ?? 0o444 });
        await chmod(source, m.mode ?? 0o444);
        if (m.uid !== undefined || m.gid !== undefined) await chown(source, m.uid ?? 0, m.gid ?? 0);
        files.push({ target: m.target, source, readOnly: true });
      }
      const volumePaths: Record<string, string> = {};
      for (const m of a.spec.mounts) {
        if (m.type === 'bind' && !(await exists(m.source))) {
          if (m.createHostPath !== true) {
            throw new TscError('ERR_RUNTIME', `invalid mount config for type "bind": bind source path does not exist: ${m.source}`, { path: `services.${a.spec.labels['com.docker.compose.service'] ?? a.spec.name}.volumes` });
          }
          await mkdir(m.source, { recursive: true });
        }
        if (m.type !== 'volume') continue;
        const v = await opts.volumes.inspect(m.source);
        const src = volumeMountSource(v);
        if (src.kind === 'mount') {
          throw new TscError('ERR_UNSUPPORTED', `volume ${m.source}: local driver mounts (type=${src.fsType}) are not supported yet`);
        }
        volumePaths[m.source] = src.source;
        // Docker copies the image's content at the target into a new, empty volume.
        const fromImage = join(a.rootfs, m.target);
        if (m.noCopy !== true && src.source === v.mountpoint && (await isEmptyDir(src.source)) && !(await isEmptyDir(fromImage))) {
          await run('cp', ['-a', `${fromImage}/.`, src.source]);
        }
      }
      const deviceNumbers = await blkioDeviceNumbers(a.spec);
      const [passwd, group] = await users;
      const spec = buildOciSpec({
        containerId: a.containerId,
        spec: a.spec,
        settings: a.settings,
        rootfs: a.rootfs,
        netns: a.sandbox,
        ...(a.joinNamespaces === undefined ? {} : { joinNamespaces: a.joinNamespaces }),
        user: resolveUser(a.settings.user, a.spec.groupAdd ?? [], passwd, group),
        volumePaths,
        files,
        logPath: a.logPath,
        cgroupParent: opts.cgroupParent,
        deviceNumbers,
      });
      return writeBundle(bundleDir, await writeSeccomp(bundleDir, spec, await seccompSetting(a.spec), opts.seccompDir === undefined ? {} : { sharedDir: opts.seccompDir }));
    },
  };
}

/** Major and minor numbers of the block devices `blkio_config` names, read from the devices. */
async function blkioDeviceNumbers(spec: ContainerSpec): Promise<Record<string, { major: number; minor: number }>> {
  const r = spec.resources;
  const paths = new Set([...(r.blkioWeightDevice ?? []), ...Object.values(r.blkioThrottle ?? {}).flat()].map((d) => d.path));
  const out: Record<string, { major: number; minor: number }> = {};
  for (const path of paths) {
    const st = await stat(path).catch(() => undefined);
    if (st === undefined || !st.isBlockDevice()) {
      throw new TscError('ERR_USAGE', `blkio_config: ${path} is not a block device on this host`, { path: `services.${spec.labels['com.docker.compose.service'] ?? spec.name}.blkio_config` });
    }
    // glibc's gnu_dev_major/minor: 12 bits of major and 20 of minor, split across the word
    const dev = BigInt(st.rdev);
    out[path] = { major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)), minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)) };
  }
  return out;
}
