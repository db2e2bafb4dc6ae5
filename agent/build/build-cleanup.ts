/**
 * What a build interrupted by an agent crash or kill leaves: step containers still known to the
 * runtime under the builders' own `--root`, and `build-*` root filesystems still mounted in the
 * store. The agent owns its store, so when it starts no build runs: all of it is removed then.
 */
import { TscError } from '../../lib/errors.js';
import type { ImageStore } from '../images/image-store.js';
import { listRootfs, removeRootfs } from '../images/rootfs.js';
import { runCommand } from '../images/run-command.js';

export interface BuildLeftovers {
  containers: string[];
  rootfs: string[];
}

export async function cleanupBuilds(opts: { store: ImageStore; runtime: string; runtimeRoot: string }): Promise<BuildLeftovers> {
  const out: BuildLeftovers = { containers: [], rootfs: [] };
  const list = await runCommand(opts.runtime, ['--root', opts.runtimeRoot, 'list']);
  if (list.code === 0) {
    for (const line of list.stdout.split('\n').slice(1)) {
      const id = line.split('\t')[0];
      if (id === undefined || !id.startsWith('build-')) continue;
      const del = await runCommand(opts.runtime, ['--root', opts.runtimeRoot, 'delete', '--force', id]);
      if (del.code !== 0) throw new TscError('ERR_RUNTIME', `cannot remove the leftover build container ${id}: ${del.stderr.trim()}`);
      out.containers.push(id);
    }
  }
  for (const r of await listRootfs(opts.store)) {
    if (!r.id.startsWith('build-')) continue;
    await removeRootfs(opts.store, r.id);
    out.rootfs.push(r.id);
  }
  return out;
}
