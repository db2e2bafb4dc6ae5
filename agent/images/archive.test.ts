import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildOciImage } from '../../fixtures/oci-image.js';
import type { BuiltImage } from '../../fixtures/oci-image.js';
import { isTscError } from '../../lib/errors.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { loadImageArchive, saveImages } from './archive.js';
import { getImage } from './image-resolve.js';
import { openImageStore } from './image-store.js';
import type { ImageStore } from './image-store.js';
import { importOciDir } from './import-layout.js';
import { ensureSnapshot } from './snapshots.js';
import { tarBuffer } from './tar-writer.js';
import { caught } from '../../test/support/caught.js';

const dirs: string[] = [];
let image: BuiltImage;
let work = '';

async function tmp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function newStore(): Promise<ImageStore> {
  return openImageStore(await tmp('tsc-archive-store-'));
}

describePrivileged('image load and save', [root, command('skopeo'), command('busybox'), command('tar'), command('setfattr')], () => {
  beforeAll(async () => {
    work = await tmp('tsc-archive-');
    image = await buildOciImage(join(work, 'layout'), { tag: 'v1' });
  });
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('saves an archive that skopeo reads both as docker-archive and oci-archive, and loads it back', async () => {
    const store = await newStore();
    await importOciDir(store, image.dir, { repository: 'localhost:5000/app' });
    const file = join(work, 'saved.tar');
    await saveImages(store, ['localhost:5000/app:v1'], file);
    const asDocker = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${file}`], { encoding: 'utf8' })) as { Layers: string[] };
    // docker-archive: skopeo lists the uncompressed digests (diff IDs) of the layers
    expect(asDocker.Layers).toEqual(image.layers.map((l) => l.diffId));
    const manifestJson = JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' })) as Array<{ RepoTags: string[] }>;
    expect(manifestJson[0]?.RepoTags).toEqual(['localhost:5000/app:v1']);
    const asOci = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${file}:v1`], { encoding: 'utf8' })) as { Digest: string };
    expect(asOci.Digest).toBe(image.manifest.digest);

    const other = await newStore();
    const loaded = await loadImageArchive(other, file);
    expect(loaded.map((l) => [l.name, l.target.digest])).toEqual([['localhost:5000/app:v1', image.manifest.digest]]);
    const img = await getImage(other, 'localhost:5000/app:v1');
    expect(img.configDigest).toBe(image.configDigest);
    expect(await readdir(join(other.root, 'ingest'))).toEqual([]);
  });

  it('an OCI archive named only by a bare tag (skopeo oci-archive:FILE:latest) asks for --repository, then loads as REPO:latest', async () => {
    const file = join(work, 'bare-tag.tar');
    execFileSync('skopeo', ['copy', '--quiet', `oci:${image.dir}:v1`, `oci-archive:${file}:latest`]);
    const store = await newStore();
    const err = await caught(loadImageArchive(store, file));
    expect(isTscError(err, 'ERR_IMAGE')).toBe(true);
    expect(err.message).toBe(`image archive ${file} names its image only by the tag "latest" (org.opencontainers.image.ref.name without a repository)`);
    expect((err as Error & { hint?: string }).hint).toBe('give the repository: tsc-compose image load --repository NAME (loads NAME:latest)');
    expect(await store.listImages()).toEqual([]);
    expect(await readdir(join(store.root, 'blobs', 'sha256'))).toEqual([]);
    const loaded = await loadImageArchive(store, file, { repository: 'localhost/app' });
    expect(loaded.map((l) => [l.name, l.target.digest])).toEqual([['localhost/app:latest', image.manifest.digest]]);
    expect((await getImage(store, 'localhost/app')).configDigest).toBe(image.configDigest);
  });

  it('loads a legacy docker save archive (uncompressed layer.tar), plain and gzipped', async () => {
    const file = join(work, 'legacy.tar');
    execFileSync('skopeo', ['copy', '--quiet', `oci:${image.dir}:v1`, `docker-archive:${file}:localhost/legacy:v1`]);
    const names = execFileSync('tar', ['-tf', file], { encoding: 'utf8' });
    expect(names).toMatch(/manifest\.json/);
    for (const f of [file, `${file}.gz`]) {
      if (f.endsWith('.gz')) execFileSync('gzip', ['-k', file]);
      const store = await newStore();
      const loaded = await loadImageArchive(store, f);
      expect(loaded.map((l) => l.name)).toEqual(['localhost/legacy:v1']);
      const img = await getImage(store, 'localhost/legacy:v1');
      expect(img.config.rootfs.diff_ids).toEqual(image.layers.map((l) => l.diffId));
      // Every layer unpacks and matches its diff ID.
      for (const l of img.layers) await ensureSnapshot(store, { diffId: l.diffId, blobDigest: l.blob.digest });
    }
  });

  it('never writes archive paths to disk and refuses paths that climb out', async () => {
    const store = await newStore();
    const hostile = join(work, 'hostile.tar');
    await writeFile(hostile, tarBuffer([
      { name: '../../tsc-archive-escape', data: 'x' },
      { name: 'manifest.json', data: '[]' },
    ]));
    const err = await caught(loadImageArchive(store, hostile));
    expect(isTscError(err, 'ERR_IMAGE')).toBe(true);
    expect(err.message).toContain('points outside');
    expect(await readdir(join(store.root, 'ingest'))).toEqual([]);

    await writeFile(hostile, tarBuffer([
      { name: 'c.json', data: JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] } }) },
      { name: 'manifest.json', data: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:1'], Layers: ['../../../etc/passwd'] }]) },
    ]));
    const err2 = await caught(loadImageArchive(store, hostile));
    expect(err2.message).toContain('points outside');
    expect(await store.listImages()).toEqual([]);

    await writeFile(hostile, tarBuffer([{ name: 'hello.txt', data: 'hi' }]));
    expect((await caught(loadImageArchive(store, hostile))).message).toContain('neither a docker save archive');
  });
});
