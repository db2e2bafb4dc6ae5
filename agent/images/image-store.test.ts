import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { sha256Digest } from './digest.js';
import { garbageCollect } from './gc.js';
import { openImageStore } from './image-store.js';
import type { ImageStore } from './image-store.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

let store: ImageStore;
beforeEach(async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsc-store-'));
  dirs.push(root);
  store = await openImageStore(root);
});

const data = Buffer.from('layer bytes '.repeat(1000));
const digest = sha256Digest(data);

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('image store', () => {
  it('stores a blob streamed in chunks under blobs/sha256/<hex>', async () => {
    await store.ingest({ digest, size: data.length }, async (w) => {
      for (let i = 0; i < data.length; i += 1000) await w.write(data.subarray(i, i + 1000));
    });
    expect(await store.hasBlob(digest)).toBe(true);
    expect(await readdir(join(store.root, 'blobs/sha256'))).toEqual([digest.slice(7)]);
    expect((await store.readBlob(digest)).equals(data)).toBe(true);
    expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
  });

  it.each([
    ['a digest mismatch', () => ({ digest: sha256Digest('other'), size: data.length }), 'digest mismatch'],
    ['a short body', () => ({ digest, size: data.length + 1 }), 'size mismatch'],
    ['a long body', () => ({ digest, size: data.length - 1 }), 'more data than its declared size'],
  ])('rejects %s and stores nothing', async (_t, desc, text) => {
    const err = await caught(store.ingest(desc(), async (w) => w.write(data)));
    expect(isTscError(err, 'ERR_IMAGE')).toBe(true);
    expect((err as Error).message).toContain(text);
    expect((err as Error).message).toContain('nothing stored');
    expect(await readdir(join(store.root, 'blobs/sha256'))).toEqual([]);
    expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
  });

  it('never shows a partial blob, and cleans up when the source fails', async () => {
    let seenDuring: boolean | undefined;
    const err = await caught(
      store.ingest({ digest, size: data.length }, async (w) => {
        await w.write(data.subarray(0, 100));
        seenDuring = await store.hasBlob(digest);
        throw new Error('connection reset');
      }),
    );
    expect((err as Error).message).toBe('connection reset');
    expect(seenDuring).toBe(false);
    expect(await store.hasBlob(digest)).toBe(false);
    expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
  });

  it('resumes at the writer offset and restarts after reset', async () => {
    await store.ingest({ digest, size: data.length }, async (w) => {
      await w.write(data.subarray(0, 500));
      await w.reset();
      expect(w.offset).toBe(0);
      await w.write(data.subarray(0, 700));
      await w.write(data.subarray(w.offset));
    });
    expect((await store.readBlob(digest)).equals(data)).toBe(true);
  });

  it('coalesces concurrent writes of the same blob into one', async () => {
    let fills = 0;
    const fill = async (w: { write(c: Buffer): Promise<void> }): Promise<void> => {
      fills++;
      await new Promise((r) => setTimeout(r, 20));
      await w.write(data);
    };
    await Promise.all([1, 2, 3, 4].map(() => store.ingest({ digest, size: data.length }, fill)));
    expect(fills).toBe(1);
    await store.ingest({ digest, size: data.length }, fill);
    expect(fills).toBe(1); // present already: not fetched again
  });

  it('keeps names in an OCI index.json', async () => {
    const m = await store.putBlob(Buffer.from('{"schemaVersion":2}'), 'application/vnd.oci.image.manifest.v1+json');
    await store.setImage('docker.io/library/busybox:latest', m);
    await store.setImage('localhost:5000/app:v1', m);
    await store.setImage('docker.io/library/busybox:latest', m);
    const names = (await store.listImages()).map((r) => r.name).sort();
    expect(names).toEqual(['docker.io/library/busybox:latest', 'localhost:5000/app:v1']);
    expect(await store.deleteImage('localhost:5000/app:v1')).toBe(true);
    expect(await store.deleteImage('localhost:5000/app:v1')).toBe(false);
    const reopened = await openImageStore(store.root);
    expect((await reopened.getImage('docker.io/library/busybox:latest'))?.target.digest).toBe(m.digest);
  });

  it('garbage-collects unnamed blobs and crash leftovers, keeping names, leases and writes in progress', async () => {
    const config = await store.putBlob(Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [digest] } })), 'application/vnd.oci.image.config.v1+json');
    await store.putBlob(data, 'application/vnd.oci.image.layer.v1.tar');
    const manifest = await store.putBlob(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: data.length }] })),
      'application/vnd.oci.image.manifest.v1+json',
    );
    await store.setImage('localhost/kept:1', manifest);
    const orphan = await store.putBlob(Buffer.from('orphan'), 'application/octet-stream');
    const leased = await store.putBlob(Buffer.from('leased'), 'application/octet-stream');
    await writeFile(join(store.root, 'ingest', 'stale.partial'), 'x');
    await mkdir(join(store.root, 'snapshots', '.tmp-stale'));
    await mkdir(join(store.root, 'snapshots', 'a'.repeat(64)));
    await mkdir(join(store.root, 'snapshots', digest.slice(7)));
    const scratch = await store.tempDir('load-');
    const r = await store.withLease([leased.digest], () => garbageCollect(store));
    expect(r.removedBlobs).toEqual([orphan.digest]);
    expect(r.removedSnapshots).toEqual(['sha256:' + 'a'.repeat(64)]);
    expect((await readdir(join(store.root, 'blobs/sha256'))).sort()).toEqual([config.digest, digest, manifest.digest, leased.digest].map((d) => d.slice(7)).sort());
    expect(await readdir(join(store.root, 'snapshots'))).toEqual([digest.slice(7)]);
    expect(await readdir(join(store.root, 'ingest'))).toEqual([scratch.path.split('/').pop()]);
    await scratch.done();
    expect((await garbageCollect(store)).removedBlobs).toEqual([leased.digest]);
    expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
  });
});
