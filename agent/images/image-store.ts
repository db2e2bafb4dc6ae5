/**
 * The image store on disk, in OCI image-layout form so that tools (skopeo, `oci:` paths) can
 * read it:
 *
 *   <root>/oci-layout                     {"imageLayoutVersion":"1.0.0"}
 *   <root>/index.json                     names -> manifest descriptors (annotation
 *                                         io.containerd.image.name = full reference)
 *   <root>/blobs/sha256/<hex>             content, verified against digest and size
 *   <root>/ingest/<hex>.<random>          blobs being written (never visible as blobs)
 *   <root>/snapshots/<diffid hex>/        one extracted layer each (see snapshots.ts)
 *   <root>/rootfs/<id>/                   container root filesystems (see rootfs.ts)
 *
 * Every blob is hashed and counted while it streams in; it becomes visible only by rename
 * after an fsync, so a partial or corrupt download is never a blob. Writers of the same
 * digest in one process share one download. One agent process owns a store root.
 */
import { randomBytes } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';

import { TscError } from '../../lib/errors.js';
import { digestHasher, parseDigest, sha256Digest } from './digest.js';
import type { Descriptor, ImageIndex } from './media-types.js';
import { IMAGE_NAME_ANNOTATION, MEDIA, REF_NAME_ANNOTATION } from './media-types.js';

/** A blob being written: append chunks, then commit (verify + rename) or abort. */
export interface BlobWriter {
  readonly digest: string;
  readonly size: number;
  /** Bytes written so far: where a resumed download starts. */
  readonly offset: number;
  write(chunk: Buffer): Promise<void>;
  /** Start over from byte 0 (the server ignored a Range request). */
  reset(): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface ImageRecord {
  /** Full normalized reference: `docker.io/library/nginx:latest` or `repo@sha256:...`. */
  name: string;
  target: Descriptor;
}

export interface ImageStore {
  readonly root: string;
  blobPath(digest: string): string;
  hasBlob(digest: string): Promise<boolean>;
  /**
   * Make sure a blob is present: if not, `fill` writes it through a BlobWriter (and may
   * retry or resume on it). Concurrent calls for one digest share one fill.
   */
  ingest(desc: { digest: string; size: number }, fill: (w: BlobWriter) => Promise<void>, what?: string): Promise<void>;
  /** Store bytes already in memory (manifests, configs); returns the descriptor. */
  putBlob(data: Buffer, mediaType: string, expect?: { digest: string; size?: number }): Promise<Descriptor>;
  readBlob(digest: string): Promise<Buffer>;
  readJson<T>(digest: string): Promise<T>;
  openBlob(digest: string): Readable;
  listImages(): Promise<ImageRecord[]>;
  getImage(name: string): Promise<ImageRecord | undefined>;
  /** Point `name` at `target` (replacing what it named). */
  setImage(name: string, target: Descriptor): Promise<void>;
  deleteImage(name: string): Promise<boolean>;
  /** Keep digests from garbage collection while `fn` runs (a pull in progress). */
  withLease<T>(digests: Iterable<string>, fn: () => Promise<T>): Promise<T>;
  leased(): Set<string>;
  /** How many blob writes are running. */
  ingesting(): number;
  /** A scratch directory under `ingest/` that GC leaves alone until `done`. */
  tempDir(prefix: string): Promise<{ path: string; done(): Promise<void> }>;
  /** Names in `ingest/` in use now (GC removes the others). */
  activeTemps(): Set<string>;
  /** Serialize index changes and GC: one at a time. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

const DIR_MODE = 0o755;

export async function openImageStore(root: string): Promise<ImageStore> {
  await mkdir(join(root, 'blobs', 'sha256'), { recursive: true, mode: DIR_MODE });
  await mkdir(join(root, 'ingest'), { recursive: true, mode: 0o700 });
  await mkdir(join(root, 'snapshots'), { recursive: true, mode: DIR_MODE });
  await mkdir(join(root, 'rootfs'), { recursive: true, mode: 0o711 });
  const layoutFile = join(root, 'oci-layout');
  try {
    await stat(layoutFile);
  } catch {
    await writeFile(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }
  const indexFile = join(root, 'index.json');
  const inflight = new Map<string, Promise<void>>();
  const leases = new Map<string, number>();
  const temps = new Set<string>();
  let chain: Promise<unknown> = Promise.resolve();

  function blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(root, 'blobs', algorithm, hex);
  }

  async function hasBlob(digest: string): Promise<boolean> {
    try {
      await stat(blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  async function createWriter(digest: string, size: number, what: string): Promise<BlobWriter> {
    const { hex, algorithm } = parseDigest(digest);
    await mkdir(join(root, 'blobs', algorithm), { recursive: true, mode: DIR_MODE });
    const tmpName = `${hex}.${randomBytes(6).toString('hex')}`;
    const tmp = join(root, 'ingest', tmpName);
    temps.add(tmpName);
    const fh: FileHandle = await open(tmp, 'wx', 0o644);
    let hash: Hash = digestHasher(digest);
    let offset = 0;
    let closed = false;
    const fail = (message: string): TscError => new TscError('ERR_IMAGE', `${what}: ${message}: rejected, nothing stored`);
    const w: BlobWriter = {
      digest,
      size,
      get offset() {
        return offset;
      },
      async write(chunk) {
        if (offset + chunk.length > size) throw fail(`more data than its declared size of ${size} bytes`);
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off, offset + off)).bytesWritten;
        offset += chunk.length;
      },
      async reset() {
        await fh.truncate(0);
        hash = digestHasher(digest);
        offset = 0;
      },
      async commit() {
        if (offset !== size) throw fail(`size mismatch: got ${offset} bytes, expected ${size}`);
        const got = `${algorithm}:${hash.digest('hex')}`;
        if (got !== digest) throw fail(`digest mismatch: content is ${got}`);
        await fh.sync();
        await fh.close();
        closed = true;
        await rename(tmp, blobPath(digest));
        temps.delete(tmpName);
      },
      async abort() {
        if (!closed) {
          closed = true;
          await fh.close().catch(() => {});
        }
        await rm(tmp, { force: true });
        temps.delete(tmpName);
      },
    };
    return w;
  }

  async function ingest(desc: { digest: string; size: number }, fill: (w: BlobWriter) => Promise<void>, what = `blob ${desc.digest}`): Promise<void> {
    const running = inflight.get(desc.digest);
    if (running !== undefined) return running;
    const p = (async () => {
      if (await hasBlob(desc.digest)) return;
      const w = await createWriter(desc.digest, desc.size, what);
      try {
        await fill(w);
        await w.commit();
      } catch (e) {
        await w.abort();
        throw e;
      }
    })();
    inflight.set(desc.digest, p);
    try {
      await p;
    } finally {
      inflight.delete(desc.digest);
    }
  }

  async function putBlob(data: Buffer, mediaType: string, expect?: { digest: string; size?: number }): Promise<Descriptor> {
    const digest = expect?.digest ?? sha256Digest(data);
    const size = expect?.size ?? data.length;
    await ingest({ digest, size }, async (w) => w.write(data), `${mediaType} ${digest}`);
    return { mediaType, digest, size: data.length };
  }

  async function readBlob(digest: string): Promise<Buffer> {
    try {
      return await readFile(blobPath(digest));
    } catch (cause) {
      throw new TscError('ERR_NOT_FOUND', `blob ${digest} is not in the image store`, { cause });
    }
  }

  async function readJson<T>(digest: string): Promise<T> {
    const data = await readBlob(digest);
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch (cause) {
      throw new TscError('ERR_IMAGE', `blob ${digest} is not valid JSON`, { cause });
    }
  }

  async function readIndex(): Promise<ImageIndex> {
    try {
      const idx = JSON.parse(await readFile(indexFile, 'utf8')) as ImageIndex;
      return { ...idx, manifests: idx.manifests ?? [] };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] };
      throw new TscError('ERR_IMAGE', `${indexFile} is not a valid OCI index`, { cause: e });
    }
  }

  async function writeIndex(idx: ImageIndex): Promise<void> {
    const tmp = `${indexFile}.${randomBytes(4).toString('hex')}`;
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(JSON.stringify(idx));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, indexFile);
  }

  function nameOf(d: Descriptor): string | undefined {
    return d.annotations?.[IMAGE_NAME_ANNOTATION] ?? d.annotations?.[REF_NAME_ANNOTATION];
  }

  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  }

  async function listImages(): Promise<ImageRecord[]> {
    const idx = await readIndex();
    const out: ImageRecord[] = [];
    for (const d of idx.manifests) {
      const name = nameOf(d);
      if (name !== undefined) out.push({ name, target: d });
    }
    return out;
  }

  return {
    root,
    blobPath,
    hasBlob,
    ingest,
    putBlob,
    readBlob,
    readJson,
    openBlob: (digest) => createReadStream(blobPath(digest), { highWaterMark: 256 * 1024 }),
    listImages,
    async getImage(name) {
      return (await listImages()).find((r) => r.name === name);
    },
    setImage: (name, target) =>
      exclusive(async () => {
        const idx = await readIndex();
        const manifests = idx.manifests.filter((d) => nameOf(d) !== name);
        manifests.push({
          mediaType: target.mediaType,
          digest: target.digest,
          size: target.size,
          ...(target.platform === undefined ? {} : { platform: target.platform }),
          annotations: { ...target.annotations, [IMAGE_NAME_ANNOTATION]: name, [REF_NAME_ANNOTATION]: name },
        });
        await writeIndex({ ...idx, manifests });
      }),
    deleteImage: (name) =>
      exclusive(async () => {
        const idx = await readIndex();
        const manifests = idx.manifests.filter((d) => nameOf(d) !== name);
        if (manifests.length === idx.manifests.length) return false;
        await writeIndex({ ...idx, manifests });
        return true;
      }),
    async withLease(digests, fn) {
      const list = [...digests];
      for (const d of list) leases.set(d, (leases.get(d) ?? 0) + 1);
      try {
        return await fn();
      } finally {
        for (const d of list) {
          const n = (leases.get(d) ?? 1) - 1;
          if (n <= 0) leases.delete(d);
          else leases.set(d, n);
        }
      }
    },
    leased: () => new Set(leases.keys()),
    ingesting: () => inflight.size,
    async tempDir(prefix) {
      const path = await mkdtemp(join(root, 'ingest', prefix));
      const name = basename(path);
      temps.add(name);
      return {
        path,
        async done() {
          await rm(path, { recursive: true, force: true });
          temps.delete(name);
        },
      };
    },
    activeTemps: () => new Set(temps),
    exclusive,
  };
}
