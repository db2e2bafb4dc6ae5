/** `ContainerHost` of this host: /proc and the cgroup file systems (see each module). */
import type { ContainerHost } from '../backends.js';
import { readContainerStats } from './cgroup-stats.js';
import { copyFromContainer, copyToContainer } from './container-copy.js';
import { readContainerTop } from './proc-top.js';

export function createLocalContainerHost(opts: { cgroupRoot?: string } = {}): ContainerHost {
  const where = opts.cgroupRoot === undefined ? {} : { cgroupRoot: opts.cgroupRoot };
  return {
    top: (pid) => readContainerTop(pid, where),
    stats: (pid) => readContainerStats(pid, where),
    copyFrom: (pid, path, hostPath, o) => copyFromContainer(pid, path, hostPath, o),
    copyTo: (pid, hostPath, path, o) => copyToContainer(pid, hostPath, path, o),
  };
}
