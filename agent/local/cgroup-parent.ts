/**
 * The agent's parent cgroup (`/tsc-compose` under each v1 controller, or in the v2 tree) is
 * made by the runtime when the first container starts and outlives the last one: this
 * removes it when no container of ours is left. rmdir of a cgroup fails (EBUSY) while it has
 * children or processes, so another agent's containers under the same parent are never
 * touched; each directory that could not go is returned.
 */
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function removeEmptyCgroupParent(parent: string, root = '/sys/fs/cgroup'): Promise<string[]> {
  const kept: string[] = [];
  const mounts = await readdir(root).catch(() => [] as string[]);
  // v2 at the root itself, then every v1 controller (and the hybrid 'unified' tree).
  for (const dir of [join(root, parent), ...mounts.map((m) => join(root, m, parent))]) {
    try {
      await rmdir(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') kept.push(dir);
    }
  }
  return kept;
}
