/** A build cut short (its agent killed mid-RUN) leaves a step container and mounts: cleanupBuilds removes them. */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildOciImage } from '../../fixtures/oci-image.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { getImage, importOciDir, openImageStore, prepareRootfs, removeRootfs, type ImageStore } from '../images/index.js';
import { bundledRuntimePath } from '../runtime/bundled-runtime-path.js';
import { writeBundle } from '../runtime/write-bundle.js';
import { cleanupBuilds } from './build-cleanup.js';
import { stepSpec } from './run-step.js';

describePrivileged('cleanupBuilds', [root, command('busybox')], () => {
  let dir: string;
  let store: ImageStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-build-cleanup-'));
    await buildOciImage(join(dir, 'layout'), { tag: 'latest', whiteoutLayer: false });
    store = await openImageStore(join(dir, 'store'));
    await importOciDir(store, join(dir, 'layout'), { repository: 'busybox' });
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes leftover step containers and build root filesystems, and nothing else', async () => {
    const img = await getImage(store, 'busybox');
    const runtime = bundledRuntimePath();
    const runtimeRoot = join(dir, 'runtime');
    const id = `build-${process.pid}`;
    const r = await prepareRootfs(store, { id, layers: img.layers });
    const keep = await prepareRootfs(store, { id: `ctr-${process.pid}`, layers: img.layers });
    const bundle = join(dir, 'bundle');
    await mkdir(bundle);
    const spec = await stepSpec({ binary: runtime, runtimeRoot, id, bundleDir: bundle, rootfs: r.path, args: ['sleep', '60'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, network: 'none' });
    await writeBundle(bundle, spec);
    execFileSync(runtime, ['--root', runtimeRoot, 'create', '--bundle', bundle, id], { stdio: 'ignore' });
    const mounted = async () => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(join(dir, 'store/rootfs'))).length;
    expect(await mounted()).toBe(2);

    expect(await cleanupBuilds({ store, runtime, runtimeRoot })).toEqual({ containers: [id], rootfs: [id] });
    expect(execFileSync(runtime, ['--root', runtimeRoot, 'list'], { encoding: 'utf8' }).trim().split('\n').length).toBe(1);
    expect(await mounted()).toBe(1); // a container's root filesystem is not the builder's to remove
    await removeRootfs(store, keep.id);
    expect(await mounted()).toBe(0);
  }, 60_000);
});
