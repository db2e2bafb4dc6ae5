/**
 * `ImageService` (backends.ts) over the images library: the content store on this host, pulls
 * from registries, and container root filesystems as overlay mounts of the image's layers.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import type { ImageSummary, PullProgress as ApiPullProgress } from '../api/types.js';
import type { ImageService, LocalImage } from '../backends.js';
import { TscError } from '../../lib/errors.js';
import {
  ensureSnapshot,
  familiarReference,
  findImage,
  garbageCollect,
  getImage,
  inspectImage,
  saveImages,
  loadImageArchive,
  formatReference,
  parseReference,
  prepareRootfs,
  pullImage,
  pushImage,
  removeRootfs,
  resolveTarget,
  type ImageStore,
  type PullOptions,
  type ResolvedImage,
} from '../images/index.js';

export interface LocalImageServiceOptions {
  store: ImageStore;
  /** Registry settings (mirrors, insecure registries, credentials file). */
  registry?: Omit<PullOptions, 'onProgress' | 'unpack'>;
}

export function createLocalImageService(opts: LocalImageServiceOptions): ImageService {
  const { store } = opts;

  /**
   * What a name resolved to, while the store's index stays the same file (its inode, size and
   * time: every change of the index is a rename of a new file). Every container start resolves
   * its image twice (start, root filesystem), and reading the index and the manifest and config
   * blobs each time cost more than anything else the agent does for a start.
   */
  const resolved = new Map<string, { stamp: string; image: Promise<(ResolvedImage & { name: string }) | undefined> }>();
  async function indexStamp(): Promise<string> {
    const st = await stat(join(store.root, 'index.json'), { bigint: true }).catch(() => undefined);
    return st === undefined ? 'none' : `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  }
  async function lookup(ref: string): Promise<(ResolvedImage & { name: string }) | undefined> {
    const stamp = await indexStamp();
    const hit = resolved.get(ref);
    if (hit !== undefined && hit.stamp === stamp) return hit.image;
    const image = (async () => {
      const rec = await findImage(store, ref);
      if (rec === undefined) return undefined;
      return { ...(await resolveTarget(store, rec.target, undefined, rec.name)), name: rec.name };
    })();
    if (resolved.size >= 256) resolved.clear();
    resolved.set(ref, { stamp, image });
    // A failure is not kept: the next call asks again.
    image.catch(() => resolved.get(ref)?.image === image && resolved.delete(ref));
    return image;
  }

  /** The layer snapshots of an image for this host's platform (none to make for another's). */
  async function unpackImage(ref: string): Promise<void> {
    const img = await lookup(ref).catch(() => undefined);
    if (img === undefined) return;
    await store.withLease(
      img.layers.map((l) => l.diffId),
      async () => {
        for (const l of img.layers) await ensureSnapshot(store, { diffId: l.diffId, blobDigest: l.blob.digest });
      },
    );
  }

  async function resolve(ref: string): Promise<LocalImage | undefined> {
    const img = await lookup(ref);
    if (img === undefined) return undefined;
    return { id: img.configDigest, ref: img.name, config: img.config.config ?? {} };
  }

  return {
    resolve,

    async pull(ref, onProgress) {
      const sizes = new Map<string, number>();
      const result = await pullImage(store, ref, {
        ...opts.registry,
        onProgress: (e) => {
          if (onProgress === undefined) return;
          const p: ApiPullProgress =
            e.kind === 'resolved'
              ? { image: ref, status: 'resolving' }
              : e.kind === 'layer'
                ? { image: ref, layer: e.digest, status: e.status === 'verified' ? 'done' : e.status, current: e.current, total: e.total }
                : { image: ref, layer: e.digest, status: 'extracting', total: sizes.get(e.digest) ?? 0 };
          if (e.kind === 'layer') sizes.set(e.digest, e.total);
          onProgress(p);
        },
      });
      const img = await resolve(result.name);
      if (img === undefined) throw new Error(`pulled ${ref} as ${result.name} but cannot find it in the store`);
      await unpackImage(result.name);
      return img;
    },

    async push(ref, onProgress) {
      const rec = await findImage(store, ref);
      if (rec === undefined) throw new TscError('ERR_NOT_FOUND', `An image does not exist locally with the tag: ${ref}`);
      // push sends the platform the store holds; a pull's platform choice does not apply
      const { platform: _platform, ...registry } = opts.registry ?? {};
      return pushImage(store, rec.name, undefined, {
        ...registry,
        ...(onProgress === undefined ? {} : { onProgress: (e) => onProgress({ image: rec.name, layer: e.digest, status: e.status }) }),
      });
    },

    async tag(source, target) {
      const rec = await findImage(store, source);
      if (rec === undefined) throw new TscError('ERR_NOT_FOUND', `No such image: ${source}`);
      const dest = parseReference(target);
      if (dest.digest !== undefined) throw new TscError('ERR_USAGE', `refusing to create a tag with a digest reference: ${target}`);
      await store.setImage(formatReference({ ...dest, tag: dest.tag ?? 'latest' }), rec.target);
    },

    async list() {
      const byId = new Map<string, ImageSummary>();
      for (const rec of await store.listImages()) {
        let img;
        try {
          img = await resolveTarget(store, rec.target, undefined, rec.name);
        } catch {
          continue; // a name whose platform this host cannot run
        }
        const s = byId.get(img.configDigest) ?? {
          id: img.configDigest,
          repoTags: [],
          repoDigests: [],
          size: img.layers.reduce((n, l) => n + l.blob.size, 0),
          createdAt: img.config.created ?? '',
          labels: img.config.config?.Labels ?? {},
        };
        const r = parseReference(rec.name);
        const familiar = familiarReference(r);
        if (r.digest !== undefined && r.tag === undefined) s.repoDigests.push(familiar);
        else s.repoTags.push(familiar);
        byId.set(img.configDigest, s);
      }
      return [...byId.values()];
    },

    async remove(ref) {
      const rec = await findImage(store, ref);
      if (rec === undefined) throw new TscError('ERR_NOT_FOUND', `No such image: ${ref}`);
      await store.deleteImage(rec.name);
      await garbageCollect(store);
    },

    async inspect(ref) {
      return { ...(await inspectImage(store, ref)) };
    },
    save: (refs, path) => saveImages(store, refs, path),
    async prune() {
      const r = await garbageCollect(store);
      return { reclaimedBytes: r.reclaimedBytes, removed: r.removedBlobs.length + r.removedSnapshots.length };
    },

    async load(path, o = {}) {
      const imported = await loadImageArchive(store, path, o);
      const names = imported.map((i) => i.name).filter((n): n is string => n !== undefined);
      // Unpacked now, as Docker unpacks what it loads: the first container start of the image
      // then mounts it at once instead of extracting its layers first.
      for (const name of names) await unpackImage(name);
      return names;
    },

    async prepareRootfs(imageId, containerId) {
      const img = (await lookup(imageId)) ?? (await getImage(store, imageId));
      const r = await prepareRootfs(store, { id: containerId, layers: img.layers, image: img.name });
      return r.path;
    },

    async releaseRootfs(containerId, o) {
      // The writable layer stays mounted between runs of a container (docker keeps it too);
      // it goes only with the container.
      if (o.remove) await removeRootfs(store, containerId);
    },
  };
}
