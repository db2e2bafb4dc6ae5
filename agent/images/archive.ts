/**
 * `image load` and `image save`: tar archives of images.
 *
 * Save writes one archive that is both an OCI image layout (oci-layout, index.json, blobs/)
 * and a `docker save` archive (manifest.json naming config and layer blobs), as Docker 25+
 * does, so `docker load`, skopeo's `docker-archive:` and `oci-archive:` all read it.
 *
 * Load reads either: an OCI layout archive, Docker's current format, or Docker's legacy
 * format (`<id>/layer.tar`, uncompressed, whose digests are the config's diff IDs), plain or
 * gzip-compressed. Archive entries are never extracted by name: each file goes to a numbered
 * temporary file, and only the paths the manifests name are read back, so a hostile archive
 * cannot write anywhere. Every blob is verified as it enters the store.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

import { TscError } from '../../lib/errors.js';
import { parseDigest, sha256Digest } from './digest.js';
import { decompress, detectCompression } from './decompress.js';
import { cleanArchivePath } from './extract-layer.js';
import { getImage } from './image-resolve.js';
import type { ImageStore } from './image-store.js';
import type { ImportedImage } from './import-layout.js';
import { importLayout } from './import-layout.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from './media-types.js';
import { IMAGE_NAME_ANNOTATION, MEDIA, REF_NAME_ANNOTATION, manifestKind } from './media-types.js';
import { familiarReference, formatReference, parseReference } from './reference.js';
import { readTar } from './tar-reader.js';
import { TAR_END, tarHeader, tarPadding } from './tar-writer.js';

interface DockerSaveItem {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function spool(file: string, tmp: string): Promise<Map<string, { path: string; size: number }>> {
  const files = new Map<string, { path: string; size: number }>();
  let n = 0;
  const what = `image archive ${file}`;
  for await (const { entry, body } of readTar(decompress(createReadStream(file, { highWaterMark: 256 * 1024 }), what), { what })) {
    if (entry.type !== 'file') continue;
    const name = cleanArchivePath(entry.name, what);
    const path = join(tmp, String(n++));
    const fh = await open(path, 'wx', 0o600);
    try {
      for await (const c of body) {
        let off = 0;
        while (off < c.length) off += (await fh.write(c, off, c.length - off)).bytesWritten;
      }
    } finally {
      await fh.close();
    }
    files.set(name, { path, size: entry.size });
  }
  return files;
}

async function readJsonFile<T>(files: Map<string, { path: string }>, name: string, what: string): Promise<T | undefined> {
  const f = files.get(name);
  if (f === undefined) return undefined;
  try {
    return JSON.parse(await readFile(f.path, 'utf8')) as T;
  } catch (cause) {
    throw new TscError('ERR_IMAGE', `${what}: ${name} is not valid JSON`, { cause });
  }
}

async function peek(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b;
  } finally {
    await fh.close();
  }
}

/**
 * Load the images of an archive file into the store. `repository` names images of an OCI
 * archive whose ref.name is a bare tag. Returns what was loaded, with names.
 */
export async function loadImageArchive(store: ImageStore, file: string, opts: { repository?: string } = {}): Promise<ImportedImage[]> {
  const what = `image archive ${file}`;
  const scratch = await store.tempDir('load-');
  const tmp = scratch.path;
  try {
    const files = await spool(file, tmp);
    const blobSource = (digest: string): AsyncIterable<Buffer> => {
      const { algorithm, hex } = parseDigest(digest);
      const f = files.get(`blobs/${algorithm}/${hex}`);
      if (f === undefined) throw Object.assign(new Error(`${what}: blob ${digest} is missing`), { code: 'ENOENT' });
      return createReadStream(f.path);
    };
    const index = await readJsonFile<ImageIndex>(files, 'index.json', what);
    const dockerManifest = await readJsonFile<DockerSaveItem[]>(files, 'manifest.json', what);
    const loaded: ImportedImage[] = [];
    if (index !== undefined && files.has('oci-layout')) {
      loaded.push(...(await importLayout(store, index, blobSource, { what, ...opts })));
    }
    if (dockerManifest !== undefined) {
      for (const item of dockerManifest) loaded.push(...(await loadDockerItem(store, files, item, what, loaded)));
    }
    if (index === undefined && dockerManifest === undefined) {
      throw new TscError('ERR_IMAGE', `${what} is neither a docker save archive (no manifest.json) nor an OCI layout (no index.json)`);
    }
    return loaded;
  } finally {
    await scratch.done();
  }
}

async function loadDockerItem(
  store: ImageStore,
  files: Map<string, { path: string; size: number }>,
  item: DockerSaveItem,
  what: string,
  already: ImportedImage[],
): Promise<ImportedImage[]> {
  const configName = cleanArchivePath(item.Config, what);
  const configFile = files.get(configName);
  if (configFile === undefined) throw new TscError('ERR_IMAGE', `${what}: config ${item.Config} named in manifest.json is missing`);
  const configData = await readFile(configFile.path);
  const config = JSON.parse(configData.toString('utf8')) as ImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== item.Layers.length) throw new TscError('ERR_IMAGE', `${what}: ${item.Layers.length} layers but ${diffIds.length} diff IDs in ${item.Config}`);
  const names = (item.RepoTags ?? []).map((t) => formatReference(parseReference(t)));
  // Docker 25+ archives (and ours) are OCI layouts too: what the index already named is done.
  if (names.length > 0 && names.every((n) => already.some((a) => a.name === n))) return [];
  const configDigest = sha256Digest(configData);
  const leases = [configDigest];
  return store.withLease(leases, async () => {
    const configDesc = await store.putBlob(configData, MEDIA.dockerConfig);
    const layers: Descriptor[] = [];
    for (let i = 0; i < item.Layers.length; i++) {
      const layerName = cleanArchivePath(item.Layers[i] as string, what);
      const f = files.get(layerName);
      if (f === undefined) throw new TscError('ERR_IMAGE', `${what}: layer ${layerName} named in manifest.json is missing`);
      const m = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(layerName);
      const compression = detectCompression(await peek(f.path));
      // A legacy layer.tar is uncompressed and its digest is its diff ID; a blobs/ path names its digest.
      const digest = m !== null ? `${m[1]}:${m[2]}` : (diffIds[i] as string);
      const mediaType = compression === 'gzip' ? MEDIA.dockerLayerGzip : compression === 'none' ? MEDIA.dockerLayer : MEDIA.ociLayerZstd;
      await store.ingest({ digest, size: f.size }, async (w) => {
        for await (const c of createReadStream(f.path)) await w.write(c as Buffer);
      }, `${what}: layer ${layerName}`);
      layers.push({ mediaType, digest, size: f.size });
      leases.push(digest);
    }
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MEDIA.dockerManifest, config: { ...configDesc, mediaType: MEDIA.dockerConfig }, layers };
    const target = await store.putBlob(Buffer.from(JSON.stringify(manifest)), MEDIA.dockerManifest);
    for (const n of names) await store.setImage(n, target);
    return names.length === 0 ? [{ name: undefined, target }] : names.map((name) => ({ name, target }));
  });
}

async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await new Promise<void>((resolve, reject) => {
    const onErr = (e: Error): void => reject(e);
    out.once('error', onErr);
    out.once('drain', () => {
      out.off('error', onErr);
      resolve();
    });
  });
}

/** Write images (by name or ID) to `file` as an OCI layout + docker save archive. */
export async function saveImages(store: ImageStore, names: string[], file: string): Promise<void> {
  if (names.length === 0) throw new TscError('ERR_USAGE', 'image save needs at least one image');
  const blobs = new Map<string, number>();
  const indexEntries: Descriptor[] = [];
  const dockerItems: DockerSaveItem[] = [];
  for (const n of names) {
    const img = await getImage(store, n);
    const ref = parseReference(img.name);
    const addTree = async (d: Descriptor): Promise<void> => {
      if (!(await store.hasBlob(d.digest))) return; // an index's other platforms
      blobs.set(d.digest, d.size);
      if (manifestKind({ mediaType: d.mediaType }) === 'unknown') return;
      const doc = await store.readJson<ImageIndex & ImageManifest>(d.digest);
      if (manifestKind({ mediaType: doc.mediaType ?? d.mediaType, manifests: doc.manifests, config: doc.config }) === 'index') {
        for (const m of doc.manifests) await addTree(m);
      } else {
        for (const b of [doc.config, ...doc.layers]) blobs.set(b.digest, b.size);
      }
    };
    await addTree(img.target);
    indexEntries.push({
      mediaType: img.target.mediaType,
      digest: img.target.digest,
      size: img.target.size,
      annotations: { [IMAGE_NAME_ANNOTATION]: img.name, ...(ref.tag === undefined ? {} : { [REF_NAME_ANNOTATION]: ref.tag }) },
    });
    const path = (d: string): string => `blobs/sha256/${parseDigest(d).hex}`;
    dockerItems.push({ Config: path(img.configDigest), RepoTags: ref.tag === undefined ? [] : [familiarReference(ref)], Layers: img.layers.map((l) => path(l.blob.digest)) });
  }
  const out = createWriteStream(file, { mode: 0o644 });
  const closed = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    out.on('error', reject);
  });
  try {
    const small = async (name: string, data: Buffer): Promise<void> => {
      await write(out, tarHeader({ name, size: data.length, mode: 0o644 }));
      await write(out, data);
      await write(out, tarPadding(data.length));
    };
    await write(out, tarHeader({ name: 'blobs/', type: 'dir', mode: 0o755 }));
    await write(out, tarHeader({ name: 'blobs/sha256/', type: 'dir', mode: 0o755 }));
    for (const [digest, size] of blobs) {
      await write(out, tarHeader({ name: `blobs/sha256/${parseDigest(digest).hex}`, size, mode: 0o644 }));
      let n = 0;
      for await (const c of store.openBlob(digest)) {
        n += (c as Buffer).length;
        await write(out, c as Buffer);
      }
      if (n !== size) throw new Error(`blob ${digest} is ${n} bytes, its descriptor says ${size}`);
      await write(out, tarPadding(size));
    }
    await small('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    await small('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: indexEntries })));
    await small('manifest.json', Buffer.from(JSON.stringify(dockerItems)));
    await write(out, TAR_END);
    out.end();
    await closed;
  } catch (e) {
    out.destroy();
    await rm(file, { force: true });
    throw e;
  }
}
