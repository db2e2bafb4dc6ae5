import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, expect, it } from 'vitest';

import { describePrivileged, root } from '../../test/support/privileged.js';
import { copyIntoRoot, walkTree, type CopyPlan } from './copy-step.js';

describePrivileged('COPY into a root filesystem', [root], () => {
  let dir: string;
  let rootfs: string;
  let src: string;
  const where = { file: 'Dockerfile', line: 4, kind: 'COPY' };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-copy-step-'));
    rootfs = join(dir, 'rootfs');
    src = join(dir, 'src');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await mkdir(join(dir, 'host-target'), { recursive: true });
    await symlink('/etc', join(rootfs, 'app'));
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'A');
    await writeFile(join(src, 'sub/b.txt'), 'B');
    await symlink('a.txt', join(src, 'alias'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const plan = async (dest: string, paths: string[], extra: Partial<CopyPlan> = {}): Promise<CopyPlan> => ({
    dest,
    items: await Promise.all(paths.map(async (p) => ({ name: p.split('/').pop() as string, entries: await walkTree(join(src, p)) }))),
    destIsDir: paths.length > 1,
    owner: { uid: 0, gid: 0 },
    where,
    ...extra,
  });

  it('copies a directory\'s contents, resolving the destination inside the root', async () => {
    await copyIntoRoot(rootfs, await plan('/app/conf/', ['.']));
    expect(await readFile(join(rootfs, 'etc/conf/a.txt'), 'utf8')).toBe('A');
    expect(await readFile(join(rootfs, 'etc/conf/sub/b.txt'), 'utf8')).toBe('B');
    expect(await readlink(join(rootfs, 'etc/conf/alias'))).toBe('a.txt');
  });

  it('puts a file at dest, or in it when dest ends in / or is a directory, with --chmod', async () => {
    await copyIntoRoot(rootfs, await plan('/etc/renamed.txt', ['a.txt'], { chmod: 0o600 }));
    expect(await readFile(join(rootfs, 'etc/renamed.txt'), 'utf8')).toBe('A');
    expect((await lstat(join(rootfs, 'etc/renamed.txt'))).mode & 0o777).toBe(0o600);
    await copyIntoRoot(rootfs, await plan('/etc', ['a.txt']));
    expect(await readFile(join(rootfs, 'etc/a.txt'), 'utf8')).toBe('A');
  });

  it('replaces a symlink in the way instead of writing through it', async () => {
    await mkdir(join(rootfs, 'data'));
    await symlink(join(dir, 'host-target'), join(rootfs, 'data/sub'));
    await copyIntoRoot(rootfs, await plan('/data/', ['.']));
    expect((await lstat(join(rootfs, 'data/sub'))).isDirectory()).toBe(true);
    await expect(lstat(join(dir, 'host-target/b.txt'))).rejects.toThrow();
  });

  it('needs a directory destination for several sources', async () => {
    const p = await plan('/etc/one-file', ['a.txt', 'sub/b.txt']);
    await expect(copyIntoRoot(rootfs, { ...p, destIsDir: false })).rejects.toThrow(/more than one source file, the destination must be a directory/);
  });
});
