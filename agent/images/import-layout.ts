/**
 * Bring images in from an OCI image layout (a directory, or any blob source such as a tar
 * archive's entries): every blob reachable from the layout's index is copied into the store,
 * verified against its digest and size, then the names are set. Names come from
 * `io.containerd.image.name`, else from `org.opencontainers.image.ref.name` (a full reference,
 * or a bare tag joined to `repository`).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import { parseDigest } from './digest.js';
import type { ImageStore } from './image-store.js';
import type { Descriptor, ImageIndex, ImageManifest } from './media-types.js';
import { IMAGE_NAME_ANNOTATION, REF_NAME_ANNOTATION, manifestKind } from './media-types.js';
import { formatReference, parseReference } from './reference.js';

/** Where blobs are read from: a path in a directory, an entry in an archive. */
export type BlobSource = (digest: string) => AsyncIterable<Buffer> | Promise<AsyncIterable<Buffer>>;

export interface ImportedImage {
  name: string | undefined;
  target: Descriptor;
}

async function copyBlob(store: ImageStore, source: BlobSource, d: Descriptor, what: string): Promise<void> {
  await store.ingest({ digest: d.digest, size: d.size }, async (w) => {
    for await (const chunk of await source(d.digest)) await w.write(chunk);
  }, `${what}: blob ${d.digest}`);
}

/** Copy a descriptor and everything below it. Index children that are absent are skipped. */
export async function copyTree(store: ImageStore, source: BlobSource, d: Descriptor, what: string, optional = false): Promise<void> {
  try {
    await copyBlob(store, source, d, what);
  } catch (e) {
    if (optional && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const kind = manifestKind({ mediaType: d.mediaType });
  if (kind === 'unknown') return;
  const doc = await store.readJson<ImageIndex & ImageManifest>(d.digest);
  if (kind === 'index') {
    // A partial index (one platform saved) is normal: missing children are skipped.
    for (const m of doc.manifests) await copyTree(store, source, m, what, true);
    return;
  }
  await copyBlob(store, source, doc.config, what);
  await Promise.all(doc.layers.map((l) => copyBlob(store, source, l, what)));
}

const BARE_TAG = /^[\w][\w.-]{0,127}$/;

/** The bare tag (`latest`) a descriptor is named by, when it has no repository to go with it. */
export function bareTagOf(d: Descriptor): string | undefined {
  if (d.annotations?.[IMAGE_NAME_ANNOTATION] !== undefined) return undefined;
  const ref = d.annotations?.[REF_NAME_ANNOTATION];
  return ref !== undefined && BARE_TAG.test(ref) ? ref : undefined;
}

export function nameFromAnnotations(d: Descriptor, repository?: string): string | undefined {
  const full = d.annotations?.[IMAGE_NAME_ANNOTATION];
  if (full !== undefined) return formatReference(parseReference(full));
  const ref = d.annotations?.[REF_NAME_ANNOTATION];
  if (ref === undefined) return undefined;
  if (BARE_TAG.test(ref)) {
    return repository === undefined ? undefined : formatReference({ ...parseReference(repository), tag: ref, digest: undefined });
  }
  return formatReference(parseReference(ref));
}

/** Import the images of a layout whose blobs `source` gives, with `index` its index.json. */
export async function importLayout(
  store: ImageStore,
  index: ImageIndex,
  source: BlobSource,
  opts: { what: string; repository?: string },
): Promise<ImportedImage[]> {
  const out: ImportedImage[] = [];
  if (!Array.isArray(index.manifests)) throw new TscError('ERR_IMAGE', `${opts.what}: index.json has no manifests`);
  const bare = index.manifests.map(bareTagOf).filter((t): t is string => t !== undefined);
  if (bare.length > 0 && opts.repository === undefined) {
    // docker load would keep such an image unnamed (only its ID); here an unnamed image is
    // garbage, so ask for the name before anything is stored (skopeo wants one too).
    const tags = bare.map((t) => `"${t}"`).join(', ');
    throw new TscError('ERR_IMAGE', `${opts.what} names its image only by the tag ${tags} (org.opencontainers.image.ref.name without a repository)`, {
      hint: `give the repository: tsc-compose image load --repository NAME (loads NAME:${bare[0] ?? 'latest'})`,
    });
  }
  for (const d of index.manifests) {
    parseDigest(d.digest);
    await store.withLease([d.digest], async () => {
      await copyTree(store, source, d, opts.what);
      const name = nameFromAnnotations(d, opts.repository);
      const { annotations: _a, ...target } = d;
      if (name !== undefined) await store.setImage(name, target);
      out.push({ name, target });
    });
  }
  return out;
}

/** Import an OCI layout directory (what `skopeo copy ... oci:DIR:TAG` writes). */
export async function importOciDir(store: ImageStore, dir: string, opts: { repository?: string } = {}): Promise<ImportedImage[]> {
  let index: ImageIndex;
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  } catch (cause) {
    throw new TscError('ERR_IMAGE', `${dir} is not an OCI image layout (no readable index.json)`, { cause });
  }
  return importLayout(store, index, (digest) => {
    const { algorithm, hex } = parseDigest(digest);
    return createReadStream(join(dir, 'blobs', algorithm, hex));
  }, { what: dir, ...opts });
}
