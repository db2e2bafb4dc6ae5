/**
 * Named local volumes, as Docker's `local` driver keeps them: a directory
 * `<root>/<name>/_data` and the volume's metadata beside it in `<root>/<name>/volume.json`.
 * The metadata is written atomically (temp file + rename): a volume either exists whole or
 * not at all. `driver_opts` of the local driver (`type`, `o`, `device`: e.g. a bind of a
 * host directory, or tmpfs) are kept and turned into a mount by `volumeMountSource`.
 */
import { lstat, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { TscError } from '../lib/errors.js';
import type { ListFilter, VolumeSpec, VolumeSummary } from './api/types.js';
import { matchesLabels } from './label-filter.js';

interface VolumeMeta {
  name: string;
  driver: string;
  driverOpts: Record<string, string>;
  labels: Record<string, string>;
  createdAt: string;
}

/** Docker's rule for volume names. */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export interface VolumeStore {
  create(spec: VolumeSpec, now?: Date): Promise<VolumeSummary>;
  inspect(name: string): Promise<VolumeSummary & { driverOpts: Record<string, string> }>;
  list(filter?: ListFilter): Promise<VolumeSummary[]>;
  remove(name: string, opts?: { inUse?: boolean }): Promise<void>;
}

export function createVolumeStore(root: string): VolumeStore {
  const dirOf = (name: string) => join(root, name);
  const summary = (m: VolumeMeta): VolumeSummary => ({
    name: m.name,
    driver: m.driver,
    labels: m.labels,
    mountpoint: join(dirOf(m.name), '_data'),
    createdAt: m.createdAt,
  });
  const readMeta = async (name: string): Promise<VolumeMeta | undefined> => {
    try {
      return JSON.parse(await readFile(join(dirOf(name), 'volume.json'), 'utf8')) as VolumeMeta;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  };

  return {
    async create(spec, now = new Date()) {
      if (!VALID_NAME.test(spec.name)) {
        throw new TscError('ERR_USAGE', `invalid volume name "${spec.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      }
      if (spec.driver !== 'local' && spec.driver !== '') {
        throw new TscError('ERR_UNSUPPORTED', `volume ${spec.name}: driver "${spec.driver}" is not supported, only "local"`);
      }
      const existing = await readMeta(spec.name);
      if (existing !== undefined) return summary(existing);
      const meta: VolumeMeta = { name: spec.name, driver: 'local', driverOpts: spec.driverOpts, labels: spec.labels, createdAt: now.toISOString() };
      const dir = dirOf(spec.name);
      await mkdir(join(dir, '_data'), { recursive: true, mode: 0o755 });
      const tmp = join(dir, `.volume.json.${process.pid}`);
      await writeFile(tmp, JSON.stringify(meta));
      await rename(tmp, join(dir, 'volume.json'));
      return summary(meta);
    },
    async inspect(name) {
      const m = await readMeta(name);
      if (m === undefined) throw new TscError('ERR_NOT_FOUND', `no such volume: ${name}`);
      return { ...summary(m), driverOpts: m.driverOpts };
    },
    async list(filter) {
      let names: string[];
      try {
        names = await readdir(root);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
      const metas = await Promise.all(names.map(readMeta));
      return metas
        .filter((m): m is VolumeMeta => m !== undefined && matchesLabels(m.labels, filter?.label))
        .map(summary)
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    async remove(name, opts = {}) {
      if ((await readMeta(name)) === undefined) throw new TscError('ERR_NOT_FOUND', `no such volume: ${name}`);
      if (opts.inUse === true) throw new TscError('ERR_CONFLICT', `volume ${name} is in use`);
      await rm(dirOf(name), { recursive: true, force: true });
    },
  };
}

/**
 * What to mount for a volume in a container: its `_data` directory, or, with the local
 * driver's options, a bind of `device` (`o: bind`) or a filesystem mount (`type`, `o`, `device`).
 */
export function volumeMountSource(
  v: VolumeSummary & { driverOpts: Record<string, string> },
): { kind: 'bind'; source: string } | { kind: 'mount'; fsType: string; device: string; options: string } {
  const { type, o, device } = v.driverOpts;
  if (type === undefined && device === undefined) return { kind: 'bind', source: v.mountpoint };
  const opts = (o ?? '').split(',').filter((s) => s !== '');
  if (opts.includes('bind') || type === 'none') {
    if (device === undefined) throw new TscError('ERR_USAGE', `volume ${v.name}: driver_opts o=bind needs a device`);
    return { kind: 'bind', source: device };
  }
  return { kind: 'mount', fsType: type ?? 'none', device: device ?? 'none', options: opts.join(',') };
}

/** Bytes the files under `dir` take on disk (what removing it gives back), 0 if it is gone. */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    const st = await lstat(path).catch(() => undefined);
    if (st === undefined) return;
    total += st.blocks * 512;
    if (st.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(dir);
  return total;
}
