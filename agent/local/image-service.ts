/**
 * `ImageService` (backends.ts) over the images library: the content store on this host, pulls
 * from registries, and container root filesystems as overlay mounts of the image's layers.
 */
import type { ImageSummary, PullProgress as ApiPullProgress } from '../api/types.js';
import type { ImageService, LocalImage } from '../backends.js';
import { TscError } from '../../lib/errors.js';
import {
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
} from '../images/index.js';

export interface LocalImageServiceOptions {
  store: ImageStore;
  /** Registry settings (mirrors, insecure registries, credentials file). */
  registry?: Omit<PullOptions, 'onProgress' | 'unpack'>;
}

export function createLocalImageService(opts: LocalImageServiceOptions): ImageService {
  const { store } = opts;

  async function resolve(ref: string): Promise<LocalImage | undefined> {
    const rec = await findImage(store, ref);
    if (rec === undefined) return undefined;
    const img = await resolveTarget(store, rec.target, undefined, rec.name);
    return { id: img.configDigest, ref: rec.name, config: img.config.config ?? {} };
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
      return imported.map((i) => i.name).filter((n): n is string => n !== undefined);
    },

    async prepareRootfs(imageId, containerId) {
      const img = await getImage(store, imageId);
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
