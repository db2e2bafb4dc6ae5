/**
 * `push`: send an image of the store to a registry: the layers and config the registry does
 * not have yet (checked with HEAD), then the manifest under the tag. An index is pushed whole
 * when all its platforms are here, otherwise only this platform's manifest is (as a pull of
 * one platform brought only that one).
 */
import { TscError } from '../../lib/errors.js';
import { getImage } from './image-resolve.js';
import type { ImageStore } from './image-store.js';
import type { Descriptor, ImageIndex, Platform } from './media-types.js';
import { manifestKind } from './media-types.js';
import { forEachLimit } from './pull.js';
import { formatReference, parseReference } from './reference.js';
import type { RegistryOptions, RepositorySession } from './registry/registry-client.js';
import { createRegistryClient } from './registry/registry-client.js';

export interface PushOptions extends RegistryOptions {
  platform?: Platform;
  concurrency?: number;
  onProgress?: (e: { digest: string; status: 'exists' | 'pushed' }) => void;
}

export interface PushResult {
  /** Where it went: `host/repo:tag`. */
  name: string;
  digest: string;
}

async function pushManifestTree(store: ImageStore, session: RepositorySession, d: Descriptor, opts: PushOptions, reference: string): Promise<void> {
  const data = await store.readBlob(d.digest);
  if (manifestKind({ mediaType: d.mediaType }) === 'index') {
    const index = JSON.parse(data.toString('utf8')) as ImageIndex;
    for (const m of index.manifests) await pushManifestTree(store, session, m, opts, m.digest);
  } else {
    const manifest = JSON.parse(data.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    await forEachLimit([manifest.config, ...manifest.layers], opts.concurrency ?? 3, async (b) => {
      if (await session.blobExists(b.digest)) {
        opts.onProgress?.({ digest: b.digest, status: 'exists' });
        return;
      }
      await session.pushBlob(b, () => store.openBlob(b.digest));
      opts.onProgress?.({ digest: b.digest, status: 'pushed' });
    });
  }
  await session.putManifest(reference, data, d.mediaType);
}

/** Push image `source` (a name or ID in the store) as `destination` (default: its own name). */
export async function pushImage(store: ImageStore, source: string, destination?: string, opts: PushOptions = {}): Promise<PushResult> {
  const img = await getImage(store, source, opts.platform);
  const dest = parseReference(destination ?? img.name);
  if (dest.digest !== undefined) throw new TscError('ERR_USAGE', `cannot push to a digest reference ${formatReference(dest)}: give a tag`);
  const session = createRegistryClient(opts).repository(dest);
  let target: Descriptor = img.target;
  if (manifestKind({ mediaType: target.mediaType }) === 'index') {
    const index = await store.readJson<ImageIndex>(target.digest);
    const complete = (await Promise.all(index.manifests.map((m) => store.hasBlob(m.digest)))).every(Boolean);
    if (!complete) target = { mediaType: img.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: (await store.readBlob(img.manifestDigest)).length };
  }
  await pushManifestTree(store, session, target, opts, dest.tag ?? 'latest');
  return { name: formatReference(dest), digest: target.digest };
}
