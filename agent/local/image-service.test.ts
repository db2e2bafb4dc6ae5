import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildOciImage } from '../../fixtures/oci-image.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { importOciDir, isMounted, openImageStore } from '../images/index.js';
import { createLocalImageService } from './image-service.js';

describePrivileged('local image service', [root, command('busybox'), command('mount')], () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-imgsvc-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a loaded image by name and id, lists it, and mounts a container root over its layers', async () => {
    const layout = join(dir, 'layout');
    await buildOciImage(layout, { tag: 'latest', config: { Cmd: ['sh'], Labels: { purpose: 'test' } } });
    const store = await openImageStore(join(dir, 'store'));
    await importOciDir(store, layout, { repository: 'busybox' });
    const svc = createLocalImageService({ store });

    const img = await svc.resolve('busybox');
    expect(img?.ref).toBe('docker.io/library/busybox:latest');
    expect(img?.config.Cmd).toEqual(['sh']);
    expect((await svc.resolve(img?.id ?? ''))?.id).toBe(img?.id);
    expect(await svc.resolve('nginx')).toBeUndefined();
    expect((await svc.list()).map((i) => [i.repoTags, i.labels])).toEqual([[['busybox:latest'], { purpose: 'test' }]]);

    const rootfs = await svc.prepareRootfs(img?.id ?? '', 'c1');
    expect(await isMounted(rootfs)).toBe(true);
    expect((await readFile(join(rootfs, 'etc/passwd'), 'utf8')).split('\n')[0]).toBe('root:x:0:0:root:/root:/bin/sh');
    await svc.releaseRootfs('c1', { remove: false });
    expect(await isMounted(rootfs)).toBe(true);
    await svc.releaseRootfs('c1', { remove: true });
    expect(await isMounted(rootfs)).toBe(false);
    await expect(access(rootfs)).rejects.toThrow();

    await svc.remove('busybox');
    expect(await svc.list()).toEqual([]);
    // Resolved names are remembered only while the store's index is unchanged.
    expect(await svc.resolve('busybox')).toBeUndefined();
    expect(await svc.resolve(img?.id ?? '')).toBeUndefined();
    await importOciDir(store, layout, { repository: 'busybox' });
    expect((await svc.resolve('busybox'))?.id).toBe(img?.id);
    await svc.tag('busybox', 'again:1');
    expect((await svc.resolve('again:1'))?.id).toBe(img?.id);
  });
});
