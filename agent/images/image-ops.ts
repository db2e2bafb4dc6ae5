/**
 * What `images` / `image ls` and `image rm` need, with Docker's semantics: a summary per name;
 * removing by name untags it; removing by ID when several names share it needs force; an
 * image a container's root filesystem uses is refused without force (force only untags: the
 * container keeps its layers). Content goes with the next garbage collection, run here.
 */
import { TscError } from '../../lib/errors.js';
import type { GcResult } from './gc.js';
import { garbageCollect } from './gc.js';
import { findImage, getImage, resolveTarget } from './image-resolve.js';
import type { ImageStore } from './image-store.js';
import type { ImageRuntimeConfig, Platform } from './media-types.js';
import { formatPlatform } from './media-types.js';
import { familiarReference, parseReference, repositoryName } from './reference.js';
import { listRootfs } from './rootfs.js';

export interface ImageSummary {
  name: string;
  repository: string;
  tag: string | undefined;
  /** The digest the name points at (index or manifest). */
  digest: string;
  /** The image ID (config digest) for this platform; undefined when the platform is absent. */
  id: string | undefined;
  created: string | undefined;
  /** Bytes of the config and layer blobs (compressed, as stored). */
  size: number;
  platform: string | undefined;
}

export async function listImageSummaries(store: ImageStore, platform?: Platform): Promise<ImageSummary[]> {
  const out: ImageSummary[] = [];
  for (const rec of await store.listImages()) {
    const ref = parseReference(rec.name);
    const base = { name: rec.name, repository: repositoryName(ref), tag: ref.tag, digest: rec.target.digest };
    try {
      const img = await resolveTarget(store, rec.target, platform, rec.name);
      out.push({
        ...base,
        id: img.configDigest,
        created: img.config.created,
        size: img.manifest.config.size + img.layers.reduce((n, l) => n + l.blob.size, 0),
        platform: formatPlatform({ os: img.config.os, architecture: img.config.architecture, variant: img.config.variant }),
      });
    } catch {
      out.push({ ...base, id: undefined, created: undefined, size: 0, platform: undefined });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export interface RemoveResult {
  untagged: string[];
  gc: GcResult;
}

export async function removeImage(store: ImageStore, nameOrId: string, opts: { force?: boolean } = {}): Promise<RemoveResult> {
  const rec = await findImage(store, nameOrId);
  if (rec === undefined) throw new TscError('ERR_NOT_FOUND', `No such image: ${nameOrId}`);
  const all = await store.listImages();
  const sameTarget = all.filter((r) => r.target.digest === rec.target.digest);
  const byName = all.some((r) => r.name === rec.name && (nameOrId === r.name || !/^(sha256:)?[a-f0-9]{12,64}$/.test(nameOrId)));
  const names = byName ? [rec.name] : sameTarget.map((r) => r.name);
  if (!byName && names.length > 1 && opts.force !== true) {
    throw new TscError('ERR_CONFLICT', `unable to delete ${nameOrId} (must be forced) - image is referenced in multiple repositories: ${names.join(', ')}`);
  }
  const remainingForTarget = sameTarget.length - names.length;
  if (remainingForTarget === 0 && opts.force !== true) {
    const img = await resolveTarget(store, rec.target, undefined, rec.name).catch(() => undefined);
    if (img !== undefined) {
      const chain = img.layers.map((l) => l.diffId).join(',');
      const user = (await listRootfs(store)).find((r) => r.image === rec.name || (r.diffIds.length > 0 && r.diffIds.join(',') === chain));
      if (user !== undefined) {
        throw new TscError('ERR_CONFLICT', `unable to remove image ${nameOrId}: image is being used by container ${user.id}`, { hint: 'remove the container first, or force' });
      }
    }
  }
  for (const n of names) await store.deleteImage(n);
  return { untagged: names, gc: await garbageCollect(store) };
}

/** `image inspect`, in the shape `docker image inspect` prints. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: string | undefined;
  Architecture: string;
  Os: string;
  Variant?: string | undefined;
  Config: ImageRuntimeConfig;
  RootFS: { Type: string; Layers: string[] };
  Size: number;
  Metadata: { ManifestDigest: string; Target: string };
}

export async function inspectImage(store: ImageStore, nameOrId: string, platform?: Platform): Promise<ImageInspect> {
  const img = await getImage(store, nameOrId, platform);
  const same = (await store.listImages()).filter((r) => r.target.digest === img.target.digest);
  const tags = new Set<string>();
  const digests = new Set<string>();
  for (const r of same) {
    const ref = parseReference(r.name);
    if (ref.tag !== undefined) tags.add(familiarReference({ ...ref, digest: undefined }));
    digests.add(familiarReference({ domain: ref.domain, path: ref.path, digest: img.target.digest }));
  }
  return {
    Id: img.configDigest,
    RepoTags: [...tags].sort(),
    RepoDigests: [...digests].sort(),
    Created: img.config.created,
    Architecture: img.config.architecture,
    Os: img.config.os,
    ...(img.config.variant === undefined ? {} : { Variant: img.config.variant }),
    Config: img.config.config ?? {},
    RootFS: { Type: img.config.rootfs.type, Layers: img.config.rootfs.diff_ids },
    Size: img.manifest.config.size + img.layers.reduce((n, l) => n + l.blob.size, 0),
    Metadata: { ManifestDigest: img.manifestDigest, Target: img.target.digest },
  };
}
