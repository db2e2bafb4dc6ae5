/**
 * `pull`: resolve a reference on its registry, pick the platform's manifest from an index,
 * and bring the manifest, config and layers into the store, layers in parallel (3 at a time
 * by default, as Docker's max-concurrent-downloads). Every blob is verified as it streams in;
 * a layer already in the store is not fetched again, and two pulls sharing a layer share its
 * download. The name is set only once everything is in, so a failed pull names nothing.
 */
import { TscError } from '../../lib/errors.js';
import { settleAll } from '../../lib/settle-all.js';
import type { ImageStore } from './image-store.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from './media-types.js';
import { formatPlatform, hostPlatform, layerCompression, manifestKind, parsePlatform, selectManifest } from './media-types.js';
import { formatReference, parseReference } from './reference.js';
import type { RegistryClient, RegistryOptions } from './registry/registry-client.js';
import { createRegistryClient } from './registry/registry-client.js';
import type { ChunkQueue } from './chunk-queue.js';
import { createChunkQueue } from './chunk-queue.js';
import type { BlobWriter } from './image-store.js';
import { ensureSnapshot } from './snapshots.js';

/** A BlobWriter that also feeds the extraction queue; a restart cuts the queue off. */
function teeWriter(w: BlobWriter, queue: ChunkQueue): BlobWriter {
  let broken = false;
  return {
    digest: w.digest,
    size: w.size,
    get offset() {
      return w.offset;
    },
    async write(chunk) {
      await w.write(chunk);
      if (!broken) await queue.push(chunk);
    },
    async reset() {
      broken = true;
      queue.fail(new Error('download restarted'));
      await w.reset();
    },
    commit: () => w.commit(),
    abort: () => w.abort(),
  };
}

export type PullProgress =
  | { kind: 'resolved'; ref: string; digest: string }
  | { kind: 'layer'; digest: string; status: 'exists' | 'downloading' | 'verified'; current: number; total: number }
  | { kind: 'extracted'; digest: string };

export interface PullOptions extends RegistryOptions {
  /** `linux/amd64` (the default is this host's platform). */
  platform?: Platform | string;
  /** Parallel layer downloads (default 3). */
  concurrency?: number;
  onProgress?: (e: PullProgress) => void;
  /** Also extract the layers into snapshots (default false: done when a container needs them). */
  unpack?: boolean;
  /** Reuse a client (its tokens and connections) across pulls. */
  client?: RegistryClient;
}

export interface PullResult {
  /** The name set in the store: `docker.io/library/nginx:latest` or `repo@sha256:...`. */
  name: string;
  /** What the name points at: the index or the manifest the registry gave. */
  target: Descriptor;
  manifestDigest: string;
  configDigest: string;
  layers: Descriptor[];
}

/** Run `fn` over items, at most `limit` at a time; the first error stops new work. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await settleAll(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export async function pullImage(store: ImageStore, refText: string, opts: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(refText);
  const name = formatReference(ref.digest !== undefined ? { ...ref, tag: undefined } : ref);
  const platform = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : (opts.platform ?? hostPlatform());
  const client = opts.client ?? createRegistryClient(opts);
  const session = client.repository(ref);
  const progress = opts.onProgress ?? (() => {});

  const top = await session.getManifest(ref.digest ?? ref.tag ?? 'latest');
  const kind = manifestKind({ mediaType: top.mediaType, ...(JSON.parse(top.data.toString('utf8')) as object) });
  if (kind === 'unknown') throw new TscError('ERR_IMAGE', `${name}: unsupported manifest type "${top.mediaType}"`);
  const target: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.data.length };
  progress({ kind: 'resolved', ref: name, digest: top.digest });

  return store.withLease([top.digest], async () => {
    let manifestData = top.data;
    let manifestDigest = top.digest;
    const docs: Array<{ data: Buffer; mediaType: string; digest: string }> = [top];
    if (kind === 'index') {
      const index = JSON.parse(top.data.toString('utf8')) as ImageIndex;
      const chosen = selectManifest(index, platform);
      if (chosen === undefined) {
        const have = index.manifests.filter((m) => m.platform !== undefined).map((m) => formatPlatform(m.platform as Platform));
        throw new TscError('ERR_IMAGE', `no matching manifest for ${formatPlatform(platform)} in the manifest list entries of ${name} (it has: ${have.join(', ')})`);
      }
      const child = await session.getManifest(chosen.digest);
      if (manifestKind({ mediaType: child.mediaType }) !== 'manifest') {
        throw new TscError('ERR_IMAGE', `${name}: index entry ${chosen.digest} is not an image manifest`);
      }
      manifestData = child.data;
      manifestDigest = child.digest;
      docs.push(child);
    }
    const manifest = JSON.parse(manifestData.toString('utf8')) as ImageManifest;
    if (manifest.config === undefined || !Array.isArray(manifest.layers)) throw new TscError('ERR_IMAGE', `${name}: manifest ${manifestDigest} has no config or layers`);
    for (const l of manifest.layers) {
      if (layerCompression(l.mediaType) === undefined) throw new TscError('ERR_UNSUPPORTED', `${name}: layer ${l.digest} has unsupported media type ${l.mediaType}`);
    }
    const blobs = [manifest.config, ...manifest.layers];
    return store.withLease([manifestDigest, ...blobs.map((b) => b.digest)], async () => {
      await store.ingest(manifest.config, (w) => session.fetchBlob(manifest.config, w), `config ${manifest.config.digest} of ${name}`);
      const config = await store.readJson<ImageConfig>(manifest.config.digest);
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== manifest.layers.length) {
        throw new TscError('ERR_IMAGE', `${name}: ${manifest.layers.length} layers in the manifest but ${diffIds.length} diff IDs in the config`);
      }
      await forEachLimit(manifest.layers, opts.concurrency ?? 3, async (layer) => {
        const snap = { diffId: diffIds[manifest.layers.indexOf(layer)] as string, blobDigest: layer.digest };
        let streamed: Promise<string> | undefined;
        if (await store.hasBlob(layer.digest)) {
          progress({ kind: 'layer', digest: layer.digest, status: 'exists', current: layer.size, total: layer.size });
        } else {
          let current = 0;
          // With unpack, the layer is extracted as it downloads (Docker does the same).
          const queue = opts.unpack === true ? createChunkQueue() : undefined;
          if (queue !== undefined) {
            streamed = ensureSnapshot(store, snap, { stream: queue.iterable, unused: queue.detach });
            streamed.catch(() => {});
          }
          try {
            await store.ingest(layer, (w) =>
              session.fetchBlob(layer, queue === undefined ? w : teeWriter(w, queue), (n) => {
                current += n;
                progress({ kind: 'layer', digest: layer.digest, status: 'downloading', current, total: layer.size });
              }), `layer ${layer.digest} of ${name}`);
          } catch (e) {
            queue?.fail(e as Error);
            await streamed?.catch(() => {});
            throw e;
          }
          queue?.end();
          progress({ kind: 'layer', digest: layer.digest, status: 'verified', current: layer.size, total: layer.size });
        }
        if (opts.unpack === true) {
          // A streamed extraction that could not finish (a restarted download, a blob another
          // pull fetched) is done again from the verified blob; a bad layer fails there too.
          await (streamed ?? Promise.reject(new Error('not streamed'))).catch(() => ensureSnapshot(store, snap));
          progress({ kind: 'extracted', digest: layer.digest });
        }
      });
      // Manifests last: a manifest in the store means its blobs are too.
      for (const d of docs.reverse()) await store.putBlob(d.data, d.mediaType, { digest: d.digest, size: d.data.length });
      await store.setImage(name, target);
      return { name, target, manifestDigest, configDigest: manifest.config.digest, layers: manifest.layers };
    });
  });
}
