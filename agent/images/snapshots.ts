/**
 * Layer snapshots: each layer extracted once into `<root>/snapshots/<diffid hex>/`, keyed by
 * its uncompressed digest (diff ID), so images and containers that share a layer share its
 * directory. A snapshot is only independent of its parents because overlayfs composes them
 * at mount time, whiteouts included. Extraction goes to a temporary directory that is renamed
 * into place only after the diff ID checks out: a half-extracted layer is never a snapshot.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import { parseDigest } from './digest.js';
import { decompress } from './decompress.js';
import { extractLayer } from './extract-layer.js';
import type { ImageStore } from './image-store.js';

export function snapshotsDir(store: ImageStore): string {
  return join(store.root, 'snapshots');
}

export function snapshotPath(store: ImageStore, diffId: string): string {
  return join(snapshotsDir(store), parseDigest(diffId).hex);
}

export async function hasSnapshot(store: ImageStore, diffId: string): Promise<boolean> {
  try {
    return (await stat(snapshotPath(store, diffId))).isDirectory();
  } catch {
    return false;
  }
}

const inflight = new WeakMap<ImageStore, Map<string, Promise<string>>>();

async function* hashing(source: AsyncIterable<Buffer>, onChunk: (c: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const c of source) {
    onChunk(c);
    yield c;
  }
}

/** How many layers are being extracted in this store (GC clears `.tmp-*` only when none are). */
export function extracting(store: ImageStore): number {
  return inflight.get(store)?.size ?? 0;
}

export interface SnapshotSource {
  /** The compressed layer bytes as they download, instead of the stored blob. */
  stream: AsyncIterable<Buffer>;
  /** Called when the stream will not be read (the snapshot exists or is being made). */
  unused: () => void;
}

/**
 * The snapshot directory of a layer, extracting the layer blob if needed (or `source`, the
 * layer as it downloads: the diff ID check still decides whether it becomes a snapshot).
 */
export async function ensureSnapshot(store: ImageStore, layer: { diffId: string; blobDigest: string }, source?: SnapshotSource): Promise<string> {
  let running = inflight.get(store);
  if (running === undefined) {
    running = new Map();
    inflight.set(store, running);
  }
  const existing = running.get(layer.diffId);
  if (existing !== undefined) {
    source?.unused();
    return existing;
  }
  const p = unpack(store, layer, source);
  running.set(layer.diffId, p);
  try {
    return await p;
  } finally {
    running.delete(layer.diffId);
  }
}

async function unpack(store: ImageStore, layer: { diffId: string; blobDigest: string }, source?: SnapshotSource): Promise<string> {
  const final = snapshotPath(store, layer.diffId);
  if (await hasSnapshot(store, layer.diffId)) {
    source?.unused();
    return final;
  }
  const { algorithm } = parseDigest(layer.diffId);
  const what = `layer ${layer.blobDigest}`;
  const tmp = await mkdtemp(join(snapshotsDir(store), '.tmp-'));
  const hash = createHash(algorithm);
  const tar = hashing(decompress(source?.stream ?? store.openBlob(layer.blobDigest), what), (c) => hash.update(c));
  try {
    await extractLayer(tar, tmp, { what });
    // Trailing bytes after the tar end (padding) belong to the diff ID too.
    for await (const c of tar) void c;
    const got = `${algorithm}:${hash.digest('hex')}`;
    if (got !== layer.diffId) {
      throw new TscError('ERR_IMAGE', `${what}: uncompressed content is ${got}, but the image config says ${layer.diffId}: rejected`);
    }
    try {
      await rename(tmp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      await rm(tmp, { recursive: true, force: true }); // someone else finished first
    }
    return final;
  } catch (e) {
    source?.unused(); // never leave a download waiting on an extraction that stopped
    await tar.return(undefined).catch(() => {});
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
