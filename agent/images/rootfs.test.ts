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
    // a file replaced by the upper layer, a file deleted by a whiteout (the bottom layer's
    // etc/hostname: what shows there is the init layer's empty mount point), an opaque directory
    expect(await readFile(join(fs.path, 'etc/motd'), 'utf8')).toBe('layer 2\n');
    expect((await readFile(join(fs.lowers[1] ?? '', 'etc/hostname'), 'utf8')).length).toBeGreaterThan(0);
    expect(await readFile(join(fs.path, 'etc/hostname'), 'utf8')).toBe('');
    expect(await readdir(join(fs.path, 'srv/old'))).toEqual(['b.txt']);
    // a program of the image runs in it
    const out = execFileSync('chroot', [fs.path, '/bin/sh', '-c', 'cat /etc/motd; ls /srv/old; wc -c < /etc/hostname'], { encoding: 'utf8' });
    expect(out.replace(/^ +/gm, '')).toBe('layer 2\nb.txt\n0\n');
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

  it("takes the mount points the image lacks from the image's init layer, so a container's upper directory starts empty", async () => {
    const img = await getImage(store, 'localhost:5000/fixture:v1');
    const [one, two] = [`tsc-test-${process.pid}-i1`, `tsc-test-${process.pid}-i2`];
    ids.push(one, two);
    const [a, b] = [await prepareRootfs(store, { id: one, layers: img.layers }), await prepareRootfs(store, { id: two, layers: img.layers })];
    expect(a.init).toBeDefined();
    expect(b.init).toBe(a.init);
    // what the runtime mounts over is there, empty, beside the image's own files
    for (const f of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf']) {
      const st = await stat(join(a.path, f));
      expect([st.isFile(), st.size, st.mode & 0o777]).toEqual([true, 0, 0o644]);
    }
    expect(await readFile(join(a.path, 'etc/motd'), 'utf8')).toBe('layer 2\n');
    // the image's /etc keeps its mode and owner
    const imageEtc = await stat(join(a.lowers[0] ?? '', 'etc'));
    const mergedEtc = await stat(join(a.path, 'etc'));
    expect([mergedEtc.mode, mergedEtc.uid, mergedEtc.gid]).toEqual([imageEtc.mode, imageEtc.uid, imageEtc.gid]);
    expect(await readdir(a.upper)).toEqual([]);
    // a container's write stays its own
    await writeFile(join(a.path, 'etc/hosts'), '127.0.0.1 a\n');
    expect(await readFile(join(b.path, 'etc/hosts'), 'utf8')).toBe('');
    expect(await readFile(join(a.init ?? '', 'etc/hosts'), 'utf8')).toBe('');
    for (const id of [one, two]) await removeRootfs(store, id);
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
    expect(await readdir(join(store.root, 'init'))).toHaveLength(1);
    r = await garbageCollect(store);
    expect(r.removedSnapshots.sort()).toEqual(built.layers.map((l) => l.diffId).sort());
    expect(await readdir(join(store.root, 'snapshots'))).toEqual([]);
    expect(await readdir(join(store.root, 'init'))).toEqual([]);
  });
});
