/** `ContainerHost` of this host: /proc and the cgroup file systems (see each module). */
import type { ContainerHost, CopyTarget } from '../backends.js';
import { readContainerStats } from './cgroup-stats.js';
import { copyFromRoot, copyToRoot } from './container-copy.js';
import { readContainerTop } from './proc-top.js';

/** A running container's own view of its files (root and mounts), or a stopped one's root file system. */
const rootOf = (t: CopyTarget): string => ('pid' in t ? `/proc/${t.pid}/root` : t.rootfs);

export function createLocalContainerHost(opts: { cgroupRoot?: string } = {}): ContainerHost {
  const where = opts.cgroupRoot === undefined ? {} : { cgroupRoot: opts.cgroupRoot };
  return {
    top: (pid) => readContainerTop(pid, where),
    stats: (pid) => readContainerStats(pid, where),
    copyFrom: (t, path, hostPath, o) => copyFromRoot(rootOf(t), path, hostPath, o),
    copyTo: (t, hostPath, path, o) => copyToRoot(rootOf(t), hostPath, path, o),
  };
}
