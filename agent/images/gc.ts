/**
 * Garbage collection: mark from the names in index.json, the leases of pulls in progress and
 * the root filesystems on disk; sweep the blobs, snapshots and init layers nothing reaches. Runs under the
 * store's exclusive lock, so no name changes while it marks.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { isDigest } from './digest.js';
import type { ImageStore } from './image-store.js';
import type { ImageConfig, ImageIndex, ImageManifest } from './media-types.js';
import { manifestKind } from './media-types.js';
import { forgetInitLayer, initLayerKey, initLayersDir } from './init-layer.js';
import { listRootfs } from './rootfs.js';
import { extracting, snapshotsDir } from './snapshots.js';

export interface GcResult {
  removedBlobs: string[];
  removedSnapshots: string[];
  reclaimedBytes: number;
}

async function sizeOf(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) return s.size;
    let n = 0;
    for (const e of await readdir(path)) n += await sizeOf(join(path, e));
    return n;
  } catch {
    return 0;
  }
}

export async function garbageCollect(store: ImageStore): Promise<GcResult> {
  return store.exclusive(async () => {
    const leased = store.leased();
    const blobs = new Set<string>();
    const snapshots = new Set<string>();
    const initLayers = new Set<string>();
    for (const d of leased) {
      blobs.add(d);
      snapshots.add(d);
    }
    const queue: Array<{ digest: string; mediaType?: string | undefined }> = (await store.listImages()).map((r) => r.target);
    while (queue.length > 0) {
      const d = queue.pop() as { digest: string; mediaType?: string };
      if (blobs.has(d.digest) && !leased.has(d.digest)) continue;
      blobs.add(d.digest);
      if (!(await store.hasBlob(d.digest))) continue;
      let doc: ImageIndex & ImageManifest;
      try {
        doc = await store.readJson<ImageIndex & ImageManifest>(d.digest);
      } catch {
        continue; // a layer, or not JSON: nothing below it
      }
      const kind = manifestKind({ mediaType: doc.mediaType ?? d.mediaType, manifests: doc.manifests, config: doc.config });
      if (kind === 'index') queue.push(...doc.manifests);
      if (kind === 'manifest') {
        blobs.add(doc.config.digest);
        for (const l of doc.layers) blobs.add(l.digest);
        try {
          const config = await store.readJson<ImageConfig>(doc.config.digest);
          for (const id of config.rootfs?.diff_ids ?? []) snapshots.add(id);
          initLayers.add(initLayerKey(config.rootfs?.diff_ids ?? []));
        } catch {
          // config not here (a partial pull): its layers' snapshots are not kept by it
        }
      }
    }
    for (const r of await listRootfs(store)) {
      for (const id of r.diffIds) snapshots.add(id);
      initLayers.add(initLayerKey(r.diffIds));
    }

    const result: GcResult = { removedBlobs: [], removedSnapshots: [], reclaimedBytes: 0 };
    const blobDir = join(store.root, 'blobs', 'sha256');
    for (const hex of await readdir(blobDir)) {
      const digest = `sha256:${hex}`;
      if (blobs.has(digest)) continue;
      result.reclaimedBytes += await sizeOf(join(blobDir, hex));
      await rm(join(blobDir, hex), { force: true });
      result.removedBlobs.push(digest);
    }
    const snapDir = snapshotsDir(store);
    const busy = extracting(store) > 0;
    for (const name of await readdir(snapDir)) {
      if (name.startsWith('.tmp-')) {
        if (!busy) await rm(join(snapDir, name), { recursive: true, force: true });
        continue;
      }
      const diffId = `sha256:${name}`;
      if (!isDigest(diffId) || snapshots.has(diffId)) continue;
      result.reclaimedBytes += await sizeOf(join(snapDir, name));
      await rm(join(snapDir, name), { recursive: true, force: true });
      result.removedSnapshots.push(diffId);
    }
    // Init layers of images and root filesystems that are gone; while a container's root
    // filesystem is being prepared (a lease is held), every one stays.
    const initDir = initLayersDir(store);
    for (const name of leased.size > 0 ? [] : await readdir(initDir).catch(() => [])) {
      if (initLayers.has(name)) continue;
      await rm(join(initDir, name), { recursive: true, force: true });
      forgetInitLayer(store, name);
    }
    // Leftovers of writes that a crash interrupted; what is being written now stays.
    const active = store.activeTemps();
    for (const name of await readdir(join(store.root, 'ingest'))) {
      if (!active.has(name)) await rm(join(store.root, 'ingest', name), { recursive: true, force: true });
    }
    return result;
  });
}
