import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildOciImage } from '../../fixtures/oci-image.js';
import type { BuiltImage } from '../../fixtures/oci-image.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { garbageCollect } from './gc.js';
import { getImage } from './image-resolve.js';
import { openImageStore } from './image-store.js';
import type { ImageStore } from './image-store.js';
import { importOciDir } from './import-layout.js';
import { isMounted, prepareRootfs, removeRootfs } from './rootfs.js';
import { snapshotPath } from './snapshots.js';

const dirs: string[] = [];
let store: ImageStore;
let built: BuiltImage;
const ids: string[] = [];

async function tmp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

describePrivileged('container rootfs on overlayfs', [root, command('mount'), command('setfattr'), command('busybox'), command('tar')], () => {
  beforeAll(async () => {
    const layout = await tmp('tsc-rootfs-layout-');
    built = await buildOciImage(layout, { tag: 'v1' });
    store = await openImageStore(await tmp('tsc-rootfs-store-'));
    const imported = await importOciDir(store, layout, { repository: 'localhost:5000/fixture' });
    expect(imported.map((i) => i.name)).toEqual(['localhost:5000/fixture:v1']);
  });

  afterAll(async () => {
    for (const id of ids) await removeRootfs(store, id).catch(() => {});
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('mounts the layers with whiteouts applied and writes going to the upper directory', async () => {
    const img = await getImage(store, 'localhost:5000/fixture:v1');
    expect(img.configDigest).toBe(built.configDigest);
    const id = `tsc-test-${process.pid}-a`;
    ids.push(id);
    const fs = await prepareRootfs(store, { id, layers: img.layers, image: img.name });
    expect(await isMounted(fs.path)).toBe(true);
    expect(fs.lowers).toEqual([snapshotPath(store, built.layers[1]?.diffId ?? ''), snapshotPath(store, built.layers[0]?.diffId ?? '')]);
    // from the lower layer
    expect((await stat(join(fs.path, 'bin/busybox'))).isFile()).toBe(true);
    // a file replaced by the upper layer, a file deleted by a whiteout, an opaque directory
    expect(await readFile(join(fs.path, 'etc/motd'), 'utf8')).toBe('layer 2\n');
    await expect(stat(join(fs.path, 'etc/hostname'))).rejects.toThrow(/ENOENT/);
    expect(await readdir(join(fs.path, 'srv/old'))).toEqual(['b.txt']);
    // a program of the image runs in it
    const out = execFileSync('chroot', [fs.path, '/bin/sh', '-c', 'cat /etc/motd; ls /srv/old; test -e /etc/hostname || echo no-hostname'], { encoding: 'utf8' });
    expect(out).toBe('layer 2\nb.txt\nno-hostname\n');
    // writes land in upper, never in the shared snapshots
    await writeFile(join(fs.path, 'etc/motd'), 'written by the container\n');
    await rm(join(fs.path, 'bin/busybox'));
    expect(await readFile(join(fs.upper, 'etc/motd'), 'utf8')).toBe('written by the container\n');
    expect((await stat(join(fs.upper, 'bin/busybox'))).isCharacterDevice()).toBe(true);
    expect(await readFile(join(fs.lowers[0] ?? '', 'etc/motd'), 'utf8')).toBe('layer 2\n');
    expect((await stat(join(fs.lowers[1] ?? '', 'bin/busybox'))).isFile()).toBe(true);
    // preparing again is a no-op on the same mount
    const again = await prepareRootfs(store, { id, layers: img.layers });
    expect(again.path).toBe(fs.path);
    const mountsAt = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.split(' ')[4] === fs.path);
    expect(mountsAt).toHaveLength(1);
  });

  it('shares layer snapshots between containers, and removal leaves nothing', async () => {
    const img = await getImage(store, built.configDigest.slice(7, 19));
    const id = `tsc-test-${process.pid}-b`;
    ids.push(id);
    const fs = await prepareRootfs(store, { id, layers: img.layers });
    expect(await readFile(join(fs.path, 'etc/motd'), 'utf8')).toBe('layer 2\n'); // not the other container's write
    expect((await stat(join(fs.path, 'bin/busybox'))).isFile()).toBe(true);
    expect(await readdir(join(store.root, 'snapshots'))).toHaveLength(2);
    await removeRootfs(store, id);
    expect(await isMounted(fs.path)).toBe(false);
    expect(await readdir(join(store.root, 'rootfs'))).not.toContain(id);
    await removeRootfs(store, id); // idempotent
  });

  it('garbage-collects what no name or container uses', async () => {
    const idA = `tsc-test-${process.pid}-a`;
    let r = await garbageCollect(store);
    expect(r.removedBlobs).toEqual([]);
    expect(r.removedSnapshots).toEqual([]);
    await store.deleteImage('localhost:5000/fixture:v1');
    // container a still uses the snapshots; the blobs go
    r = await garbageCollect(store);
    expect(r.removedBlobs.sort()).toEqual([built.manifest.digest, built.configDigest, ...built.layers.map((l) => l.digest)].sort());
    expect(r.removedSnapshots).toEqual([]);
    expect(await readdir(join(store.root, 'blobs/sha256'))).toEqual([]);
    await removeRootfs(store, idA);
    r = await garbageCollect(store);
    expect(r.removedSnapshots.sort()).toEqual(built.layers.map((l) => l.diffId).sort());
    expect(await readdir(join(store.root, 'snapshots'))).toEqual([]);
  });
});
