/**
 * The mount points every container gets that its image may lack (/etc/hosts, /etc/hostname,
 * /etc/resolv.conf; /proc, /sys, /dev), made once per image in a small read-only layer of their
 * own, mounted above the image's layers (Docker's "-init" layer).
 *
 * Why: the runtime makes a missing mount point inside the container's overlay, which first
 * copies its directory (/etc) up into the container's upper directory, holding the upper
 * filesystem's rename lock. Ten containers starting together waited for each other there
 * (~20 ms of a 10-service `up` on the test VM), and each wrote four more inodes.
 *
 * Only what the image does not show (no layer has it, or the topmost one that does deleted it),
 * and only below directories the image has as directories or lacks: an image's own file or
 * symlink is never shadowed, and whatever is left out the runtime makes as before. A directory the
 * layer needs and the image has (etc/) takes the image's mode, owner and times, which the merged
 * view then shows.
 *
 *   <root>/init/<key>/    key: sha256 of these rules' version and the image's diff IDs (initLayerKey)
 *
 * A layer is written under a temporary name and renamed into place, so a present one is whole.
 * Garbage collection (gc.ts) removes those no image or root filesystem uses.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, chown, lstat, mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import type { ImageStore } from './image-store.js';

/** What every container mounts over, relative to its root. */
const ENTRIES: ReadonlyArray<{ path: string; dir: boolean }> = [
  { path: 'proc', dir: true },
  { path: 'sys', dir: true },
  { path: 'dev', dir: true },
  { path: 'etc/hosts', dir: false },
  { path: 'etc/hostname', dir: false },
  { path: 'etc/resolv.conf', dir: false },
];

export function initLayersDir(store: ImageStore): string {
  return join(store.root, 'init');
}

/** Changed whenever what a layer holds changes: a layer made by older rules is not taken (gc removes it). */
const VERSION = 'init-layer 1';

/** The init layer's name for an image whose layers have these diff IDs (bottom first). */
export function initLayerKey(diffIds: readonly string[]): string {
  return createHash('sha256').update(`${VERSION}\n${diffIds.join(',')}`).digest('hex');
}

type Found = { kind: 'absent' } | { kind: 'dir'; stat: Stats } | { kind: 'other' };

/**
 * What the image shows at `rel`: the topmost layer's entry there (`lowers` top first). A
 * whiteout (overlayfs' 0/0 character device: the image deleted it) shows nothing.
 */
async function topmost(lowers: readonly string[], rel: string): Promise<Found> {
  for (const layer of lowers) {
    const st = await lstat(join(layer, rel)).catch(() => undefined);
    if (st === undefined) continue;
    if (st.isCharacterDevice() && st.rdev === 0) return { kind: 'absent' };
    return st.isDirectory() ? { kind: 'dir', stat: st } : { kind: 'other' };
  }
  return { kind: 'absent' };
}

/** Made or being made, per store root and key: undefined when the image needs none. */
const known = new Map<string, Promise<string | undefined>>();

/**
 * The init layer's directory for an image (`lowers`: its snapshot directories, top first;
 * `diffIds` bottom first), made on first use; undefined when the image has every entry. A
 * failure to make it is not the container's: it then starts without one, as before.
 */
export function ensureInitLayer(store: ImageStore, lowers: readonly string[], diffIds: readonly string[]): Promise<string | undefined> {
  const key = initLayerKey(diffIds);
  const id = `${store.root}\0${key}`;
  let made = known.get(id);
  if (made === undefined) {
    made = makeInitLayer(store, lowers, key).catch(() => {
      known.delete(id); // tried again by the next container
      return undefined;
    });
    known.set(id, made);
  }
  return made;
}

/** After garbage collection removed the layer `key`: it is made again when next needed. */
export function forgetInitLayer(store: ImageStore, key: string): void {
  known.delete(`${store.root}\0${key}`);
}

async function makeInitLayer(store: ImageStore, lowers: readonly string[], key: string): Promise<string | undefined> {
  const final = join(initLayersDir(store), key);
  if (await stat(final).then(() => true, () => false)) return final;
  const wanted: Array<{ path: string; dir: boolean; parent: Found }> = [];
  for (const e of ENTRIES) {
    if ((await topmost(lowers, e.path)).kind !== 'absent') continue;
    const parent = e.path.includes('/') ? await topmost(lowers, dirname(e.path)) : ({ kind: 'absent' } as const);
    if (parent.kind !== 'other') wanted.push({ ...e, parent });
  }
  if (wanted.length === 0) return undefined;
  const tmp = join(initLayersDir(store), `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(tmp, { recursive: true, mode: 0o755 });
    const parents = new Map<string, Found>();
    for (const w of wanted) if (w.path.includes('/')) parents.set(dirname(w.path), w.parent);
    // Modes set with chmod: mkdir and open apply the agent's umask.
    for (const rel of parents.keys()) await mkdir(join(tmp, rel));
    for (const w of wanted) {
      const at = join(tmp, w.path);
      if (w.dir) await mkdir(at);
      else await writeFile(at, '');
      await chmod(at, w.dir ? 0o755 : 0o644);
    }
    // The image's directories as the image has them (after their entries: adding one changes the
    // times; chmod after chown, which may clear set-id bits).
    for (const [rel, found] of parents) {
      const at = join(tmp, rel);
      if (found.kind === 'dir') await chown(at, found.stat.uid, found.stat.gid);
      await chmod(at, found.kind === 'dir' ? found.stat.mode & 0o7777 : 0o755);
      if (found.kind === 'dir') await utimes(at, found.stat.atime, found.stat.mtime);
    }
    await chmod(tmp, 0o755);
    await rename(tmp, final).catch(async (e: NodeJS.ErrnoException) => {
      // made meanwhile by another agent on this store: theirs is as good
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    });
    return final;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
