import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { sha256Digest } from './digest.js';
import { openImageStore } from './image-store.js';
import type { ImageStore } from './image-store.js';
import { ensureSnapshot, snapshotPath } from './snapshots.js';
import { tarBuffer } from './tar-writer.js';
import type { TarFileEntry } from './tar-writer.js';
import { caught } from '../../test/support/caught.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

let store: ImageStore;
beforeEach(async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsc-snap-'));
  dirs.push(root);
  store = await openImageStore(root);
});

async function layer(entries: TarFileEntry[]): Promise<{ diffId: string; blobDigest: string }> {
  const tar = tarBuffer(entries);
  const blob = await store.putBlob(gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+gzip');
  return { diffId: sha256Digest(tar), blobDigest: blob.digest };
}

describe('layer snapshots', () => {
  it('extracts a layer once, under its diff ID, for every caller at the same time', async () => {
    const l = await layer([{ name: 'etc/motd', data: 'hi\n' }]);
    const paths = await Promise.all([1, 2, 3].map(() => ensureSnapshot(store, l)));
    expect(new Set(paths)).toEqual(new Set([snapshotPath(store, l.diffId)]));
    expect(await readFile(join(paths[0] ?? '', 'etc/motd'), 'utf8')).toBe('hi\n');
    expect(await readdir(join(store.root, 'snapshots'))).toEqual([l.diffId.slice(7)]);
  });

  it('refuses a layer whose content is not its diff ID, leaving no snapshot', async () => {
    const l = await layer([{ name: 'a', data: 'x' }]);
    const err = await caught(ensureSnapshot(store, { ...l, diffId: sha256Digest('something else') }));
    expect(isTscError(err, 'ERR_IMAGE')).toBe(true);
    expect(err.message).toContain(`layer ${l.blobDigest}: uncompressed content is ${l.diffId}`);
    expect(await readdir(join(store.root, 'snapshots'))).toEqual([]);
  });

  it('refuses a hostile layer, leaving no snapshot', async () => {
    const l = await layer([{ name: 'x', type: 'symlink', linkname: '/etc' }, { name: 'x/cron.d/evil', data: '* * * * * root sh' }]);
    const err = await caught(ensureSnapshot(store, l));
    expect(err.message).toContain('goes through the symbolic link "x"');
    expect(await readdir(join(store.root, 'snapshots'))).toEqual([]);
  });
});
