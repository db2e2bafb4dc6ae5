import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildOciImage } from '../../fixtures/oci-image.js';
import type { BuiltImage } from '../../fixtures/oci-image.js';
import { isTscError } from '../../lib/errors.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { getImage } from './image-resolve.js';
import { inspectImage, listImageSummaries, removeImage } from './image-ops.js';
import { openImageStore } from './image-store.js';
import type { ImageStore } from './image-store.js';
import { importOciDir } from './import-layout.js';
import { prepareRootfs, removeRootfs } from './rootfs.js';
import { caught } from '../../test/support/caught.js';

const dirs: string[] = [];
let built: BuiltImage;
let store: ImageStore;
const id = `tsc-images-ops-${process.pid}`;

describePrivileged('image ls and rm', [root, command('busybox'), command('tar'), command('mount'), command('setfattr')], () => {
  beforeAll(async () => {
    const d = await mkdtemp(join(tmpdir(), 'tsc-ops-'));
    dirs.push(d);
    built = await buildOciImage(join(d, 'layout'), { tag: 'v1' });
    store = await openImageStore(join(d, 'store'));
    await importOciDir(store, built.dir, { repository: 'docker.io/library/app' });
    await importOciDir(store, built.dir, { repository: 'localhost:5000/team/app' });
  });
  afterAll(async () => {
    await removeRootfs(store, id).catch(() => {});
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('lists one summary per name', async () => {
    const list = await listImageSummaries(store);
    expect(list.map((i) => [i.repository, i.tag, i.id])).toEqual([
      ['docker.io/library/app', 'v1', built.configDigest],
      ['localhost:5000/team/app', 'v1', built.configDigest],
    ]);
    const configSize = (await store.readBlob(built.configDigest)).length;
    expect(list[0]?.size).toBe(configSize + built.layers.reduce((n, l) => n + l.size, 0));
    expect(list[0]?.platform).toBe('linux/amd64');
  });

  it('inspects as docker image inspect does', async () => {
    const i = await inspectImage(store, 'app:v1');
    expect(i.Id).toBe(built.configDigest);
    expect(i.RepoTags).toEqual(['app:v1', 'localhost:5000/team/app:v1']);
    expect(i.RepoDigests).toEqual([`app@${built.manifest.digest}`, `localhost:5000/team/app@${built.manifest.digest}`]);
    expect([i.Architecture, i.Os]).toEqual(['amd64', 'linux']);
    expect(i.Config.Cmd).toEqual(['/bin/sh']);
    expect(i.RootFS).toEqual({ Type: 'layers', Layers: built.layers.map((l) => l.diffId) });
  });

  it('removes by name, refuses an ambiguous ID and an image in use, then deletes the content', async () => {
    const ambiguous = await caught(removeImage(store, built.configDigest.slice(7, 19)));
    expect(isTscError(ambiguous, 'ERR_CONFLICT')).toBe(true);
    expect(ambiguous.message).toContain('referenced in multiple repositories');

    const r1 = await removeImage(store, 'app:v1');
    expect(r1.untagged).toEqual(['docker.io/library/app:v1']);
    expect(r1.gc.removedBlobs).toEqual([]); // still named by the other repository

    const img = await getImage(store, 'localhost:5000/team/app:v1');
    await prepareRootfs(store, { id, layers: img.layers, image: img.name });
    const inUse = await caught(removeImage(store, 'localhost:5000/team/app:v1'));
    expect(isTscError(inUse, 'ERR_CONFLICT')).toBe(true);
    expect(inUse.message).toContain(`being used by container ${id}`);

    await removeRootfs(store, id);
    const r2 = await removeImage(store, 'localhost:5000/team/app:v1');
    expect(r2.untagged).toEqual(['localhost:5000/team/app:v1']);
    expect(r2.gc.removedBlobs).toHaveLength(2 + built.layers.length);
    expect(r2.gc.removedSnapshots).toHaveLength(built.layers.length);
    expect(await listImageSummaries(store)).toEqual([]);
    expect((await caught(removeImage(store, 'app:v1'))).message).toContain('No such image: app:v1');
  });
});
