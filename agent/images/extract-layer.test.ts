import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeEach, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { extractLayer } from './extract-layer.js';
import { tarBuffer } from './tar-writer.js';
import type { TarFileEntry } from './tar-writer.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += 700) yield b.subarray(i, i + 700);
}

function getXattr(path: string, name: string): string | undefined {
  try {
    return execFileSync('getfattr', ['-h', '--only-values', '-n', name, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

let base = '';
let layer = '';
let outside = '';
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'tsc-extract-'));
  dirs.push(base);
  layer = join(base, 'layer');
  outside = join(base, 'outside');
  await mkdir(layer);
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'untouched');
});

async function extract(entries: TarFileEntry[]): Promise<Awaited<ReturnType<typeof extractLayer>>> {
  return extractLayer(once(tarBuffer(entries)), layer, { what: 'layer sha256:test' });
}

async function expectRefused(entries: TarFileEntry[], text: string): Promise<void> {
  let err: unknown;
  try {
    await extract(entries);
  } catch (e) {
    err = e;
  }
  expect(isTscError(err, 'ERR_IMAGE'), String(err)).toBe(true);
  expect((err as Error).message).toContain(text);
  expect((err as Error).message).toContain('layer sha256:test');
  // Nothing escaped: the sibling directory and the base are as they were.
  expect(await readdir(outside)).toEqual(['secret']);
  expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('untouched');
  expect((await readdir(base)).sort()).toEqual(['layer', 'outside']);
}

describePrivileged('extractLayer', [root, command('setfattr'), command('mknod')], () => {
  it('keeps owners, modes, mtimes, links, devices, xattrs and long names', async () => {
    const long = 'l'.repeat(80) + '/' + 'm'.repeat(90);
    const res = await extract([
      { name: './', type: 'dir', mode: 0o755, mtime: 1000 },
      { name: 'etc/', type: 'dir', mode: 0o750, uid: 0, gid: 5, mtime: 1600000000 },
      { name: 'etc/passwd', data: 'root:x:0:0\n', mode: 0o640, uid: 0, gid: 5, mtime: 1600000001 },
      { name: 'bin/su', data: 'ELF', mode: 0o4755, uid: 0, gid: 0, mtime: 1600000002 },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox', uid: 1000, gid: 1000, mtime: 1600000003 },
      { name: 'bin/su2', type: 'link', linkname: 'bin/su' },
      { name: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'dev/loop9', type: 'block', mode: 0o660, devmajor: 7, devminor: 9 },
      { name: 'run/fifo', type: 'fifo', mode: 0o620 },
      { name: 'home/app/', type: 'dir', mode: 0o700, uid: 1000, gid: 1000 },
      { name: 'home/app/notes', data: 'n', uid: 1000, gid: 1000, xattrs: { 'user.tsc': 'yes' } },
      { name: long, data: 'deep', longNames: 'gnu' },
      { name: '/abs/file', data: 'abs' },
      { name: 'tmp/', type: 'dir', mode: 0o1777 },
    ]);
    expect(res.entries).toBe(14);
    expect(await readFile(join(layer, 'etc/passwd'), 'utf8')).toBe('root:x:0:0\n');
    const passwd = await stat(join(layer, 'etc/passwd'));
    expect([passwd.mode & 0o7777, passwd.uid, passwd.gid, passwd.mtimeMs]).toEqual([0o640, 0, 5, 1600000001000]);
    const etc = await stat(join(layer, 'etc'));
    expect([etc.mode & 0o7777, etc.gid, etc.mtimeMs]).toEqual([0o750, 5, 1600000000000]);
    expect((await stat(join(layer, 'bin/su'))).mode & 0o7777).toBe(0o4755);
    expect(await readlink(join(layer, 'bin/sh'))).toBe('/bin/busybox');
    const sh = await lstat(join(layer, 'bin/sh'));
    expect([sh.uid, sh.mtimeMs]).toEqual([1000, 1600000003000]);
    expect((await stat(join(layer, 'bin/su2'))).ino).toBe((await stat(join(layer, 'bin/su'))).ino);
    const nul = await lstat(join(layer, 'dev/null'));
    expect(nul.isCharacterDevice()).toBe(true);
    expect(nul.rdev).toBe((1 << 8) | 3);
    expect(nul.mode & 0o777).toBe(0o666);
    expect((await lstat(join(layer, 'dev/loop9'))).isBlockDevice()).toBe(true);
    expect((await lstat(join(layer, 'run/fifo'))).isFIFO()).toBe(true);
    expect((await stat(join(layer, 'home/app'))).uid).toBe(1000);
    expect(getXattr(join(layer, 'home/app/notes'), 'user.tsc')).toBe('yes');
    expect(await readFile(join(layer, long), 'utf8')).toBe('deep');
    expect(await readFile(join(layer, 'abs/file'), 'utf8')).toBe('abs');
    expect((await stat(join(layer, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await stat(layer)).mode & 0o777).toBe(0o755);
  });

  it('turns OCI whiteouts into overlayfs ones', async () => {
    const res = await extract([
      { name: 'etc/.wh.motd', data: '' },
      { name: 'var/cache/.wh..wh..opq', data: '' },
      { name: 'var/cache/fresh', data: 'new' },
      { name: '.wh.removed-dir', data: '' },
      { name: '.wh..wh.plnk', type: 'dir' },
    ]);
    expect(res.whiteouts).toBe(2);
    expect(res.opaqueDirs).toEqual(['var/cache']);
    const wh = await lstat(join(layer, 'etc/motd'));
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    expect((await lstat(join(layer, 'removed-dir'))).isCharacterDevice()).toBe(true);
    expect(getXattr(join(layer, 'var/cache'), 'trusted.overlay.opaque')).toBe('y');
    expect(getXattr(join(layer, 'var'), 'trusted.overlay.opaque')).toBeUndefined();
    expect((await readdir(layer)).sort()).toEqual(['etc', 'removed-dir', 'var']);
    expect((await readdir(join(layer, 'etc')))).toEqual(['motd']);
  });

  it('lets later entries replace earlier ones without writing through symlinks', async () => {
    await extract([
      { name: 's', type: 'symlink', linkname: outside },
      { name: 's', data: 'replaced the link' },
      { name: 't', type: 'symlink', linkname: join(outside, 'secret') },
      { name: 't', data: 'not through the link' },
      { name: 'd/', type: 'dir' },
      { name: 'd/child', data: 'x' },
      { name: 'd', data: 'file now' },
      { name: 'u', type: 'symlink', linkname: outside },
      { name: 'u/', type: 'dir' },
    ]);
    expect(await readFile(join(layer, 's'), 'utf8')).toBe('replaced the link');
    expect(await readFile(join(layer, 't'), 'utf8')).toBe('not through the link');
    expect(await readFile(join(layer, 'd'), 'utf8')).toBe('file now');
    expect((await lstat(join(layer, 'u'))).isDirectory()).toBe(true);
    expect(await readdir(outside)).toEqual(['secret']);
    expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('untouched');
  });

  // Hostile archives: each must be refused and leave nothing outside the layer directory.
  it.each<[string, () => TarFileEntry[], string]>([
    ['a name climbing out with ..', () => [{ name: '../outside/pwned', data: 'x' }], 'points outside the layer directory'],
    ['a name climbing out after a detour', () => [{ name: 'a/../../outside/pwned', data: 'x' }], 'points outside'],
    ['a directory climbing out', () => [{ name: '../../pwned/', type: 'dir' }], 'points outside'],
    ['a symlink out, then a file through it', () => [
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/pwned', data: 'x' },
    ], 'goes through the symbolic link "escape"'],
    ['a relative symlink out, then a file through it', () => [
      { name: 'up', type: 'symlink', linkname: '../outside' },
      { name: 'up/secret', data: 'overwritten' },
    ], 'goes through the symbolic link "up"'],
    ['a symlink to a parent, then a directory through it', () => [
      { name: 'a/b', type: 'symlink', linkname: '../..' },
      { name: 'a/b/outside/new/', type: 'dir' },
    ], 'goes through the symbolic link "a/b"'],
    ['a directory swapped for a symlink, then a file inside', () => [
      { name: 'd/', type: 'dir' },
      { name: 'd', type: 'symlink', linkname: outside },
      { name: 'd/pwned', data: 'x' },
    ], 'goes through the symbolic link "d"'],
    ['a hard link to a file outside by ..', () => [{ name: 'h', type: 'link', linkname: '../outside/secret' }], 'points outside'],
    ['a hard link to a host path', () => [{ name: 'h', type: 'link', linkname: join(outside, 'secret') }], 'not an earlier entry of this layer'],
    ['a hard link through a symlink', () => [
      { name: 's', type: 'symlink', linkname: outside },
      { name: 'h', type: 'link', linkname: 's/secret' },
    ], 'not an earlier entry'],
    ['a hard link to a directory', () => [{ name: 'd/', type: 'dir' }, { name: 'h', type: 'link', linkname: 'd' }], 'hard link to the directory'],
    ['a whiteout through a symlink', () => [
      { name: 's', type: 'symlink', linkname: outside },
      { name: 's/.wh.secret', data: '' },
    ], 'goes through the symbolic link "s"'],
    ['an opaque marker through a symlink', () => [
      { name: 's', type: 'symlink', linkname: outside },
      { name: 's/.wh..wh..opq', data: '' },
    ], 'goes through the symbolic link "s"'],
    ['a whiteout of ..', () => [{ name: 'a/.wh...', data: '' }], 'whiteout of nothing'],
    ['a file under a file', () => [{ name: 'f', data: '1' }, { name: 'f/g', data: '2' }], 'which is not a directory'],
    ['a device node under a symlink', () => [
      { name: 's', type: 'symlink', linkname: outside },
      { name: 's/null', type: 'char', devmajor: 1, devminor: 3 },
    ], 'goes through the symbolic link "s"'],
  ])('refuses %s', async (_title, entries, text) => {
    await expectRefused(entries(), text);
  });
});
