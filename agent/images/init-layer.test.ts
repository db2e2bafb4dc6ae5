import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../../test/support/privileged.js';
import type { ImageStore } from './image-store.js';
import { ensureInitLayer, initLayerKey } from './init-layer.js';

describePrivileged('the init layer of an image', [root, command('mknod')], () => {
  let dir: string;
  // Only its root is used by the init layer.
  const store = () => ({ root: join(dir, 'store') }) as ImageStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-init-layer-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function layer(name: string, make: (at: string) => Promise<void>): Promise<string> {
    const at = join(dir, name);
    await mkdir(at, { recursive: true });
    await make(at);
    return at;
  }

  it('adds only what no layer has, below directories kept as the image has them', async () => {
    const bottom = await layer('b1', async (at) => {
      await mkdir(join(at, 'etc'));
      await writeFile(join(at, 'etc', 'resolv.conf'), 'nameserver 9.9.9.9\n');
      await mkdir(join(at, 'proc'));
    });
    const top = await layer('t1', async (at) => {
      await mkdir(join(at, 'etc'));
      await chown(join(at, 'etc'), 5, 6);
      await chmod(join(at, 'etc'), 0o750);
      // hostname deleted by this layer (a whiteout): absent, so the init layer has it
      execFileSync('mknod', [join(at, 'etc', 'hostname'), 'c', '0', '0']);
      await utimes(join(at, 'etc'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
    });
    const init = await ensureInitLayer(store(), [top, bottom], ['sha256:b1', 'sha256:t1']);
    expect(init).toBe(join(dir, 'store', 'init', initLayerKey(['sha256:b1', 'sha256:t1'])));
    const at = init ?? '';
    expect((await readdir(at)).sort()).toEqual(['dev', 'etc', 'sys']);
    expect((await readdir(join(at, 'etc'))).sort()).toEqual(['hostname', 'hosts']);
    const etc = await stat(join(at, 'etc'));
    expect([etc.mode & 0o7777, etc.uid, etc.gid, etc.mtime.toISOString()]).toEqual([0o750, 5, 6, '2020-01-02T03:04:05.000Z']);
    const hosts = await stat(join(at, 'etc', 'hosts'));
    expect([hosts.isFile(), hosts.size, hosts.mode & 0o7777]).toEqual([true, 0, 0o644]);
    expect((await stat(join(at, 'dev'))).mode & 0o7777).toBe(0o755);
    // asked again (another container of the image): the same layer, not made twice
    expect(await ensureInitLayer(store(), [top, bottom], ['sha256:b1', 'sha256:t1'])).toBe(init);
  });

  it("never shadows an image's symlinked /etc, and makes nothing for an image that has it all", async () => {
    const linked = await layer('l1', async (at) => {
      await mkdir(join(at, 'private', 'etc'), { recursive: true });
      await symlink('private/etc', join(at, 'etc'));
      for (const d of ['proc', 'sys', 'dev']) await mkdir(join(at, d));
    });
    expect(await ensureInitLayer(store(), [linked], ['sha256:l1'])).toBeUndefined();
    expect((await lstat(join(linked, 'etc'))).isSymbolicLink()).toBe(true);
    const full = await layer('f1', async (at) => {
      await mkdir(join(at, 'etc'));
      for (const f of ['hosts', 'hostname', 'resolv.conf']) await writeFile(join(at, 'etc', f), '');
      for (const d of ['proc', 'sys', 'dev']) await mkdir(join(at, d));
    });
    expect(await ensureInitLayer(store(), [full], ['sha256:f1'])).toBeUndefined();
    expect(await readdir(join(dir, 'store', 'init'))).toEqual([initLayerKey(['sha256:b1', 'sha256:t1'])]);
  });
});
