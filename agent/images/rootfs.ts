/**
 * Container root filesystems: an overlay mount of the image's layer snapshots (shared,
 * read-only lowers) under a writable upper directory of the container's own.
 *
 *   <root>/rootfs/<id>/layers.json   the diff IDs used (garbage collection keeps those)
 *   <root>/rootfs/<id>/upper/        the container's writes
 *   <root>/rootfs/<id>/work/         overlayfs' work directory
 *   <root>/rootfs/<id>/merged/       the mount point: the OCI bundle's root.path
 *   <root>/init/<key>/               the image's mount points (init-layer.ts), above its layers
 *
 * The mount runs in the snapshots directory with relative lower paths, as containerd does,
 * so that many layers fit in the one page of mount options.
 */
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

import { TscError } from '../../lib/errors.js';
import { traced } from '../../lib/trace.js';
import { parseDigest } from './digest.js';
import type { ImageLayer } from './image-resolve.js';
import type { ImageStore } from './image-store.js';
import { mount, umount } from './run-command.js';
import { ensureInitLayer } from './init-layer.js';
import { ensureSnapshot, snapshotsDir } from './snapshots.js';

export interface RootfsRecord {
  id: string;
  image?: string | undefined;
  diffIds: string[];
}

export interface PreparedRootfs {
  id: string;
  /** The merged view: give this to the runtime as the container's root. */
  path: string;
  upper: string;
  work: string;
  /** Snapshot directories, top layer first (overlay's lowerdir order). */
  lowers: string[];
  /** The image's init layer (init-layer.ts), mounted above `lowers`, when it needs one. */
  init?: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function rootfsDir(store: ImageStore, id: string): string {
  if (!ID.test(id)) throw new TscError('ERR_USAGE', `invalid container id "${id}" for a root filesystem`);
  return join(store.root, 'rootfs', id);
}

/** Mount points in this mount namespace (octal escapes undone). */
async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field !== undefined) out.add(field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/**
 * Whether our overlay is mounted at `path` (a directory in `parent`), without reading the
 * mount table (it can be large, and every start and removal read it): an overlay mount has a
 * device of its own, so a mount point shows another device than its parent directory. No mount
 * point yet (a new container) is not mounted.
 */
async function overlayMounted(path: string, parent: string): Promise<boolean> {
  const [at, above] = await Promise.all([stat(path).catch(() => undefined), stat(parent).catch(() => undefined)]);
  if (at === undefined) return false;
  if (above === undefined) return isMounted(path);
  return at.dev !== above.dev;
}

export async function isMounted(path: string): Promise<boolean> {
  return (await mountPoints()).has(resolve(path));
}

/**
 * Prepare (idempotently) the root filesystem of container `id` from `layers` (bottom first, as
 * in the manifest): extract missing snapshots, make upper/work, mount the overlay.
 */
export async function prepareRootfs(store: ImageStore, opts: { id: string; layers: ImageLayer[]; image?: string }): Promise<PreparedRootfs> {
  const dir = rootfsDir(store, opts.id);
  // Leased so that a garbage collection running meanwhile keeps the snapshots being mounted.
  return store.withLease(opts.layers.map((l) => l.diffId), () => mountRootfs(store, dir, opts));
}

async function mountRootfs(store: ImageStore, dir: string, opts: { id: string; layers: ImageLayer[]; image?: string }): Promise<PreparedRootfs> {
  const lowers: string[] = [];
  await traced(opts.id.slice(0, 12), 'snapshots', async () => {
    for (const l of opts.layers) lowers.push(await ensureSnapshot(store, { diffId: l.diffId, blobDigest: l.blob.digest }));
  });
  lowers.reverse();
  const prepared: PreparedRootfs = { id: opts.id, path: join(dir, 'merged'), upper: join(dir, 'upper'), work: join(dir, 'work'), lowers };
  if (await traced(opts.id.slice(0, 12), 'mounted?', () => overlayMounted(prepared.path, dir))) return prepared;
  const init = await ensureInitLayer(
    store,
    lowers,
    opts.layers.map((l) => l.diffId),
  );
  if (init !== undefined) prepared.init = init;
  const record: RootfsRecord = { id: opts.id, image: opts.image, diffIds: opts.layers.map((l) => l.diffId) };
  await traced(opts.id.slice(0, 12), 'dirs', async () => {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await Promise.all([
      ...['upper', 'work', 'merged'].map((d) => mkdir(join(dir, d), { recursive: true, mode: 0o755 })),
      writeFile(join(dir, 'layers.json'), JSON.stringify(record)),
    ]);
  });
  const snaps = snapshotsDir(store);
  let lowerNames = lowers.map((p) => p.slice(snaps.length + 1));
  if (init !== undefined) lowerNames = [relative(snaps, init), ...lowerNames];
  if (lowerNames.length === 0) {
    // overlayfs needs a lower directory: an image without layers gets an empty one.
    await mkdir(join(dir, 'empty'), { recursive: true });
    lowerNames = [`../rootfs/${opts.id}/empty`];
  }
  const options = `lowerdir=${lowerNames.join(':')},upperdir=../rootfs/${opts.id}/upper,workdir=../rootfs/${opts.id}/work`;
  if (options.length > 4000) {
    throw new TscError('ERR_UNSUPPORTED', `image has too many layers (${lowers.length}) for one overlay mount`);
  }
  const r = await mount('overlay', 'overlay', options, `../rootfs/${opts.id}/merged`, { cwd: snaps });
  if (r.code !== 0) {
    throw new TscError('ERR_RUNTIME', `cannot mount the root filesystem of container ${opts.id}: ${r.stderr.trim()}`, {
      hint: 'overlay mounts need root and the overlay kernel module',
    });
  }
  return prepared;
}

/** Unmount and delete container `id`'s root filesystem (its writes go with it). */
export async function removeRootfs(store: ImageStore, id: string): Promise<void> {
  const dir = rootfsDir(store, id);
  const merged = join(dir, 'merged');
  for (let attempt = 0; await overlayMounted(merged, dir); attempt++) {
    const r = await umount(merged);
    if (r.code === 0) continue;
    if (attempt >= 50 || !/busy/i.test(r.stderr)) {
      throw new TscError('ERR_RUNTIME', `cannot unmount the root filesystem of container ${id}: ${r.stderr.trim()}`);
    }
    await new Promise((res) => setTimeout(res, 100)); // a process may still be leaving it
  }
  await rm(dir, { recursive: true, force: true });
}

/** The root filesystems on disk, with the layers they use. */
export async function listRootfs(store: ImageStore): Promise<RootfsRecord[]> {
  const base = join(store.root, 'rootfs');
  const out: RootfsRecord[] = [];
  for (const id of await readdir(base)) {
    try {
      const rec = JSON.parse(await readFile(join(base, id, 'layers.json'), 'utf8')) as RootfsRecord;
      rec.diffIds.forEach((d) => parseDigest(d));
      out.push(rec);
    } catch {
      // a root filesystem being prepared or removed; it has no record yet or any more
      out.push({ id, diffIds: [] });
    }
  }
  return out;
}
