/**
 * From a name in the store to what a container needs: the platform's manifest, its config,
 * and its layers paired with their diff IDs. Accepts what `docker run` accepts: a reference
 * (`nginx`, `localhost:5000/app:1`, `repo@sha256:...`), or an image ID (the config digest,
 * `sha256:...`, or a unique hex prefix of at least 12 characters).
 */
import { TscError } from '../../lib/errors.js';
import type { ImageRecord, ImageStore } from './image-store.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from './media-types.js';
import { formatPlatform, hostPlatform, manifestKind, selectManifest } from './media-types.js';
import { formatReference, parseReference } from './reference.js';

export interface ImageLayer {
  blob: Descriptor;
  diffId: string;
}

export interface ResolvedImage {
  /** The descriptor the name points at (an index or a manifest). */
  target: Descriptor;
  manifestDigest: string;
  manifest: ImageManifest;
  /** The image ID, as Docker shows it. */
  configDigest: string;
  config: ImageConfig;
  layers: ImageLayer[];
}

/** Follow a descriptor down to the manifest for `platform` (default: this host's). */
export async function resolveTarget(store: ImageStore, target: Descriptor, platform: Platform = hostPlatform(), what = target.digest): Promise<ResolvedImage> {
  let desc = target;
  for (let depth = 0; depth < 4; depth++) {
    const doc = await store.readJson<ImageIndex & ImageManifest>(desc.digest);
    const kind = manifestKind({ mediaType: doc.mediaType ?? desc.mediaType, manifests: doc.manifests, config: doc.config });
    if (kind === 'index') {
      const chosen = selectManifest(doc, platform);
      if (chosen === undefined) {
        const have = doc.manifests.map((m) => (m.platform === undefined ? '?' : formatPlatform(m.platform))).join(', ');
        throw new TscError('ERR_IMAGE', `image ${what} has no manifest for ${formatPlatform(platform)} (it has: ${have})`);
      }
      desc = chosen;
      continue;
    }
    if (kind !== 'manifest') throw new TscError('ERR_IMAGE', `image ${what}: unsupported manifest type ${doc.mediaType ?? desc.mediaType}`);
    const config = await store.readJson<ImageConfig>(doc.config.digest);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== doc.layers.length) {
      throw new TscError('ERR_IMAGE', `image ${what}: ${doc.layers.length} layers in the manifest but ${diffIds.length} diff IDs in the config`);
    }
    return {
      target,
      manifestDigest: desc.digest,
      manifest: doc,
      configDigest: doc.config.digest,
      config,
      layers: doc.layers.map((blob, i) => ({ blob, diffId: diffIds[i] as string })),
    };
  }
  throw new TscError('ERR_IMAGE', `image ${what}: indexes nested too deep`);
}

/** Find the store record a user's words name. */
export async function findImage(store: ImageStore, nameOrId: string): Promise<ImageRecord | undefined> {
  const records = await store.listImages();
  const idLike = /^(sha256:)?[a-f0-9]{12,64}$/.test(nameOrId);
  if (!idLike || nameOrId.includes('/')) {
    let full: string | undefined;
    try {
      full = formatReference(parseReference(nameOrId));
    } catch (e) {
      if (!idLike) throw e;
    }
    const hit = records.find((r) => r.name === full);
    if (hit !== undefined) return hit;
    if (!idLike) return undefined;
  }
  // An image ID: the config digest (or the manifest digest), full or a unique prefix.
  const hex = nameOrId.replace(/^sha256:/, '');
  const matches: ImageRecord[] = [];
  for (const r of records) {
    if (r.target.digest.slice(7).startsWith(hex)) {
      matches.push(r);
      continue;
    }
    try {
      const img = await resolveTarget(store, r.target);
      if (img.configDigest.slice(7).startsWith(hex)) matches.push(r);
    } catch {
      // an image without this platform's manifest cannot match by config ID
    }
  }
  const targets = new Set(matches.map((m) => m.target.digest));
  if (targets.size > 1) throw new TscError('ERR_IMAGE', `image ID prefix ${nameOrId} is ambiguous`);
  return matches[0];
}

/** Resolve a name to the image for `platform`, or a not-found TscError naming it. */
export async function getImage(store: ImageStore, nameOrId: string, platform?: Platform): Promise<ResolvedImage & { name: string }> {
  const rec = await findImage(store, nameOrId);
  if (rec === undefined) {
    throw new TscError('ERR_NOT_FOUND', `No such image: ${nameOrId}`, { hint: 'pull it first, or load it with `tsc-compose image load`' });
  }
  return { ...(await resolveTarget(store, rec.target, platform, rec.name)), name: rec.name };
}
