/**
 * The end goal with runc standing in for the bundled runtime: an image pushed to a
 * real registry is pulled, its rootfs mounted on overlayfs, its config turned into the
 * container's process, and the container runs and sees the layered filesystem.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { buildOciImage } from '../../fixtures/oci-image.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { containerSettings } from './container-settings.js';
import { getImage } from './image-resolve.js';
import { openImageStore } from './image-store.js';
import type { ImageStore } from './image-store.js';
import { pullImage } from './pull.js';
import { isMounted, prepareRootfs, removeRootfs } from './rootfs.js';
import { skopeoPush, startRegistry } from '../../test/support/registry-harness.js';
import type { RunningRegistry } from '../../test/support/registry-harness.js';

const dirs: string[] = [];
let registry: RunningRegistry | undefined;
let store: ImageStore | undefined;
const id = `tsc-images-e2e-${process.pid}`;

afterAll(async () => {
  if (store !== undefined) await removeRootfs(store, id).catch(() => {});
  await registry?.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describePrivileged('a container runs from a pulled image (runc)', [root, command('runc'), command('docker-registry'), command('skopeo'), command('setfattr'), command('busybox'), command('tar')], () => {
  it('pulls, mounts, configures and runs', async () => {
    const work = await mkdtemp(join(tmpdir(), 'tsc-e2e-'));
    dirs.push(work);
    const built = await buildOciImage(join(work, 'layout'), {
      tag: 'v1',
      config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo image default'], Env: ['PATH=/bin:/usr/bin', 'GREETING=from-image'], WorkingDir: '/srv' },
    });
    registry = await startRegistry();
    await skopeoPush(built.dir, 'v1', `${registry.host}/e2e:v1`);
    store = await openImageStore(join(work, 'store'));
    await pullImage(store, `${registry.host}/e2e:v1`, { authFile: '/nonexistent' });
    const img = await getImage(store, `${registry.host}/e2e:v1`);
    const settings = containerSettings(img.config.config, {
      command: ['echo "$GREETING $EXTRA in $(pwd)"; cat /etc/motd; ls /srv/old; test -s /etc/hostname || echo hostname-whiteout; echo written > /tmp/out'],
      environment: { EXTRA: 'and-compose' },
    });
    // The image's etc/hostname is deleted by a whiteout: empty (the init layer's mount point,
    // as Docker's) instead of the lower layer's content.
    const fs = await prepareRootfs(store, { id, layers: img.layers, image: img.name });

    const bundle = join(work, 'bundle');
    execFileSync('mkdir', ['-p', bundle]);
    execFileSync('runc', ['spec', '--bundle', bundle]);
    const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
      process: { terminal: boolean; args: string[]; env: string[]; cwd: string };
      root: { path: string; readonly: boolean };
      hostname: string;
    };
    spec.process.terminal = false;
    spec.process.args = settings.args;
    spec.process.env = settings.env;
    spec.process.cwd = settings.workingDir;
    spec.root = { path: fs.path, readonly: false };
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    const out = await new Promise<string>((resolve, reject) => {
      execFile('runc', ['run', '--bundle', bundle, id], { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`))));
    });
    expect(out).toBe('from-image and-compose in /srv\nlayer 2\nb.txt\nhostname-whiteout\n');
    // The container's write went to its upper directory.
    expect(await readFile(join(fs.upper, 'tmp/out'), 'utf8')).toBe('written\n');
    await removeRootfs(store, id);
    expect(await isMounted(fs.path)).toBe(false);
    expect(execFileSync('runc', ['list', '-q'], { encoding: 'utf8' })).not.toContain(id);
  });
});
