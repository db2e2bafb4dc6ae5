import { mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { inRootParts, mkdirInRoot, resolveInRoot } from './in-root.js';

describe('paths inside a root filesystem', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsc-in-root-'));
    await mkdir(join(root, 'usr/lib'), { recursive: true });
    await symlink('/etc', join(root, 'app'));
    await symlink('../../..', join(root, 'usr/lib/up'));
    await symlink('usr/lib', join(root, 'lib'));
    await symlink('loop2', join(root, 'loop1'));
    await symlink('loop1', join(root, 'loop2'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('never climbs above the root with .. ', () => {
    expect(inRootParts('/../../etc/./passwd')).toEqual(['etc', 'passwd']);
  });

  it('follows symlinks inside the root: an absolute target starts again at the root', async () => {
    expect(await resolveInRoot(root, '/app/passwd')).toBe(join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, '/usr/lib/up/etc')).toBe(join(root, 'etc'));
    expect(await resolveInRoot(root, '/lib/x')).toBe(join(root, 'usr/lib/x'));
    expect(await resolveInRoot(root, '/app', { followLast: false })).toBe(join(root, 'app'));
    await expect(resolveInRoot(root, '/loop1/x')).rejects.toThrow(/too many levels/);
  });

  it('makes directories through in-root links, never on the host', async () => {
    const made = await mkdirInRoot(root, '/app/conf.d');
    expect(made).toBe(join(root, 'etc/conf.d'));
    expect((await stat(made)).isDirectory()).toBe(true);
  });
});
