import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { copyFromRoot, copyToRoot, resolveInRoot } from './container-copy.js';

describe('cp through a container root', () => {
  let dir: string;
  let root: string;
  let host: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-cp-'));
    root = join(dir, 'root');
    host = join(dir, 'host');
    await mkdir(join(root, 'etc'), { recursive: true });
    await mkdir(join(root, 'data/sub'), { recursive: true });
    await mkdir(host);
    await writeFile(join(root, 'etc/passwd'), 'inside\n');
    await writeFile(join(root, 'data/a.txt'), 'A\n', { mode: 0o640 });
    await writeFile(join(root, 'data/sub/b.txt'), 'B\n');
    await symlink('/etc/passwd', join(root, 'data/abs-link'));
    await symlink('../../../../../../etc', join(root, 'up'));
    await symlink('/', join(root, 'slash'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves links against the container root, never above it', async () => {
    expect(await resolveInRoot(root, '/data/abs-link', { followFinal: true })).toBe('/etc/passwd');
    expect(await resolveInRoot(root, '/data/abs-link', { followFinal: false })).toBe('/data/abs-link');
    expect(await resolveInRoot(root, '/up/passwd', { followFinal: true })).toBe('/etc/passwd');
    expect(await resolveInRoot(root, '/slash/../../slash/etc/passwd', { followFinal: true })).toBe('/etc/passwd');
    expect(await resolveInRoot(root, 'data/missing/x', { followFinal: true })).toBe('/data/missing/x');
  });

  it('refuses a loop of links', async () => {
    await symlink('/loop', join(root, 'loop'));
    await expect(resolveInRoot(root, '/loop/x', { followFinal: true })).rejects.toThrow(/too many levels of symbolic links/);
  });

  it('copies a file out through a link inside the container, reading the container\'s file', async () => {
    await copyFromRoot(root, '/up/passwd', join(host, 'p'));
    expect(await readFile(join(host, 'p'), 'utf8')).toBe('inside\n');
  });

  it('copies a directory into an existing one under its name, or to a new name, keeping links as links', async () => {
    await copyFromRoot(root, '/data', host);
    expect(await readFile(join(host, 'data/sub/b.txt'), 'utf8')).toBe('B\n');
    expect(await readlink(join(host, 'data/abs-link'))).toBe('/etc/passwd');
    expect((await stat(join(host, 'data/a.txt'))).mode & 0o777).toBe(0o640);
    await copyFromRoot(root, '/data', join(host, 'copy'));
    expect(await readFile(join(host, 'copy/a.txt'), 'utf8')).toBe('A\n');
    await copyFromRoot(root, '/data/.', join(host, 'content'));
    expect(await readFile(join(host, 'content/sub/b.txt'), 'utf8')).toBe('B\n');
    await expect(copyFromRoot(root, '/nothing', host)).rejects.toThrow(/Could not find the file \/nothing/);
    await expect(copyFromRoot(root, '/data', join(host, 'no/such/dir'))).rejects.toThrow(/does not exist/);
  });

  it('follows the named link with -L, else copies the link', async () => {
    await copyFromRoot(root, '/data/abs-link', join(host, 'l1'));
    expect((await lstat(join(host, 'l1'))).isSymbolicLink()).toBe(true);
    await copyFromRoot(root, '/data/abs-link', join(host, 'l2'), { followLink: true });
    expect(await readFile(join(host, 'l2'), 'utf8')).toBe('inside\n');
  });

  it('copies into the container through its links without writing outside it', async () => {
    await writeFile(join(host, 'new.txt'), 'N\n');
    await copyToRoot(root, join(host, 'new.txt'), '/slash/up/');
    expect(await readFile(join(root, 'etc/new.txt'), 'utf8')).toBe('N\n');
    // A link planted where a file of the copied tree goes is replaced, not written through.
    await mkdir(join(host, 'tree'));
    await writeFile(join(host, 'tree/planted'), 'P\n');
    await mkdir(join(root, 'data/tree'));
    await symlink(join(dir, 'outside.txt'), join(root, 'data/tree/planted'));
    await copyToRoot(root, join(host, 'tree'), '/data');
    expect(await readFile(join(root, 'data/tree/planted'), 'utf8')).toBe('P\n');
    await expect(stat(join(dir, 'outside.txt'))).rejects.toThrow();
    // A link named as the destination is followed inside the container only.
    await symlink(join(dir, 'outside2.txt'), join(root, 'data/dest-link'));
    await expect(copyToRoot(root, join(host, 'new.txt'), '/data/dest-link')).rejects.toThrow(/does not exist/);
    await expect(stat(join(dir, 'outside2.txt'))).rejects.toThrow();
  });

  it('gives copied files to root in the container, or keeps their owner with -a', async () => {
    await writeFile(join(host, 'own.txt'), 'O\n');
    const { chown } = await import('node:fs/promises');
    await chown(join(host, 'own.txt'), 1234, 5678);
    await copyToRoot(root, join(host, 'own.txt'), '/data/');
    expect((await stat(join(root, 'data/own.txt'))).uid).toBe(0);
    await copyToRoot(root, join(host, 'own.txt'), '/data/kept.txt', { archive: true });
    expect((await stat(join(root, 'data/kept.txt'))).gid).toBe(5678);
  });
});
