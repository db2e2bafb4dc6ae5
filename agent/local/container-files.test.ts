import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, stat, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { readTextInRoot, syncInRoot } from './container-files.js';

const files = {
  sync: (dir: string, ...rest: [Parameters<typeof syncInRoot>[1], Parameters<typeof syncInRoot>[2]]) => syncInRoot({ dir }, ...rest),
  readText: (dir: string, path: string) => readTextInRoot({ dir }, path),
};
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

describe('container files (sync into a root, resolved inside it)', () => {
  let dir: string;
  let root: string;
  let host: string;
  let outside: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-cfiles-'));
    root = join(dir, 'root');
    host = join(dir, 'host');
    outside = join(dir, 'outside');
    await Promise.all([mkdir(root), mkdir(host), mkdir(outside)]);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a file with its mode and mtime, making missing directories', async () => {
    await writeFile(join(host, 'index.html'), 'hello\n');
    await chmod(join(host, 'index.html'), 0o640);
    await utimes(join(host, 'index.html'), 1_700_000_000, 1_700_000_000);
    const r = await files.sync(root, [{ source: join(host, 'index.html'), target: '/var/www/index.html' }], me);
    expect(r).toEqual({ written: 1, deleted: 0, unchanged: 0 });
    expect(await readFile(join(root, 'var/www/index.html'), 'utf8')).toBe('hello\n');
    const st = await stat(join(root, 'var/www/index.html'));
    expect(st.mode & 0o777).toBe(0o640);
    expect(Math.floor(st.mtimeMs / 1000)).toBe(1_700_000_000);
    expect(st.uid).toBe(me.uid);
    // No temporary file is left next to it.
    expect(await readdir(join(root, 'var/www'))).toEqual(['index.html']);
  });

  it('replaces a file, skips an unchanged one, deletes a file and a whole directory', async () => {
    await writeFile(join(host, 'a'), 'one');
    await files.sync(root, [{ source: join(host, 'a'), target: '/a' }], me);
    await writeFile(join(host, 'a'), 'two!');
    expect((await files.sync(root, [{ source: join(host, 'a'), target: '/a' }], me)).written).toBe(1);
    expect(await readFile(join(root, 'a'), 'utf8')).toBe('two!');
    expect((await files.sync(root, [{ source: join(host, 'a'), target: '/a' }], { ...me, skipUnchanged: true })).unchanged).toBe(1);

    await mkdir(join(root, 'd/e'), { recursive: true });
    await writeFile(join(root, 'd/e/f'), 'x');
    const r = await files.sync(
      root,
      [
        { source: join(host, 'gone'), target: '/a' },
        { source: join(host, 'gone'), target: '/d' },
        { source: join(host, 'gone'), target: '/never-there' },
      ],
      me,
    );
    expect(r).toEqual({ written: 0, deleted: 2, unchanged: 0 });
    expect(await readdir(root)).toEqual([]);
  });

  it('writes many entries at once, yet in order where paths are related', async () => {
    await mkdir(join(host, 'd'));
    await writeFile(join(host, 'one'), '1');
    await writeFile(join(host, 'two'), '2');
    const many = Array.from({ length: 40 }, (_, i) => ({ source: join(host, 'one'), target: `/d/f${i}` }));
    const r = await files.sync(
      root,
      [
        { source: join(host, 'd'), target: '/d' },
        ...many,
        { source: join(host, 'one'), target: '/d/x' },
        { source: join(host, 'gone'), target: '/d/x' },
        { source: join(host, 'two'), target: '/d/x' },
        { source: join(host, 'gone'), target: '/d/f0' },
      ],
      me,
    );
    expect(r).toEqual({ written: 43, deleted: 2, unchanged: 0 });
    expect(await readFile(join(root, 'd/x'), 'utf8')).toBe('2');
    expect((await readdir(join(root, 'd'))).sort()).toEqual([...many.slice(1).map((m) => m.target.slice(3)), 'x'].sort());
  });

  it('copies a big file in pieces, whole', async () => {
    const big = Buffer.alloc((9 << 20) + 123);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    await writeFile(join(host, 'big'), big);
    await files.sync(root, [{ source: join(host, 'big'), target: '/big' }], me);
    expect((await readFile(join(root, 'big'))).equals(big)).toBe(true);
  });

  it('makes directories and copies symlinks as links', async () => {
    await mkdir(join(host, 'sub'));
    await symlink('../elsewhere', join(host, 'link'));
    await files.sync(
      root,
      [
        { source: join(host, 'sub'), target: '/app/sub' },
        { source: join(host, 'link'), target: '/app/link' },
      ],
      me,
    );
    expect((await lstat(join(root, 'app/sub'))).isDirectory()).toBe(true);
    expect(await readlink(join(root, 'app/link'))).toBe('../elsewhere');
  });

  it('resolves symlinks in the container inside its root: an absolute link cannot lead a write to the host', async () => {
    await mkdir(join(root, 'var'));
    // In the container, /var/www -> / (its own root); on the host that would be the host's /.
    await symlink('/', join(root, 'var/www'));
    // And /escape -> ../../outside, which from the root dir would reach the host's dir.
    await symlink(`../../${outside.split('/').pop() ?? ''}`, join(root, 'escape'));
    // And /abs -> the host's outside dir by absolute path, which in the container is missing.
    await symlink(outside, join(root, 'abs'));
    await writeFile(join(host, 'f'), 'payload');
    await files.sync(
      root,
      [
        { source: join(host, 'f'), target: '/var/www/f' },
        { source: join(host, 'f'), target: '/escape/f' },
        { source: join(host, 'f'), target: '/abs/f' },
        { source: join(host, 'f'), target: '/../../f2' },
      ],
      me,
    );
    expect(await readdir(outside)).toEqual([]);
    expect(await readFile(join(root, 'f'), 'utf8')).toBe('payload');
    expect(await readFile(join(root, 'escape/f').replace('/escape/', '/'), 'utf8')).toBe('payload');
    // The absolute link was followed inside the root: the directories were made there.
    expect(await readFile(join(root, outside, 'f'), 'utf8')).toBe('payload');
    expect(await readFile(join(root, 'f2'), 'utf8')).toBe('payload');
  });

  it('replaces a symlink at the target instead of writing through it', async () => {
    await writeFile(join(outside, 'secret'), 'keep');
    await symlink(join(outside, 'secret'), join(root, 'conf'));
    await writeFile(join(host, 'conf'), 'new');
    await files.sync(root, [{ source: join(host, 'conf'), target: '/conf' }], me);
    expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('keep');
    expect((await lstat(join(root, 'conf'))).isFile()).toBe(true);
  });

  it('deletes a directory without following links inside it', async () => {
    await mkdir(join(root, 'd'));
    await writeFile(join(outside, 'keep'), 'k');
    await symlink(outside, join(root, 'd/out'));
    await files.sync(root, [{ source: join(host, 'missing'), target: '/d' }], me);
    expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('k');
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses a pid that is not the container (a reused pid must never make the host the root)', async () => {
    await writeFile(join(host, 'f'), 'x');
    await expect(syncInRoot({ pid: process.pid, containerId: 'c0ffee0000000000' }, [{ source: join(host, 'f'), target: '/f' }], me)).rejects.toThrow(
      `process ${process.pid} is no longer container c0ffee000000`,
    );
    await expect(readTextInRoot({ pid: 2 ** 22 + 1, containerId: 'c0ffee' }, '/etc/passwd')).rejects.toThrow('cannot reach the filesystem of container c0ffee');
  });

  it('refuses to write or delete on a kernel filesystem (proc, sysfs) inside the root', async () => {
    await writeFile(join(host, 'f'), 'x');
    // The host's own /proc and /sys stand for a container's (the root here is the host's /).
    await expect(syncInRoot({ dir: '/' }, [{ source: join(host, 'f'), target: '/proc/self/comm' }], me)).rejects.toThrow(
      "cannot sync to /proc/self/comm: it is on the container's proc filesystem",
    );
    await expect(syncInRoot({ dir: '/' }, [{ source: join(host, 'gone'), target: '/sys/kernel/x' }], me)).rejects.toThrow(
      "cannot sync to /sys/kernel/x: it is on the container's sysfs filesystem",
    );
  });

  it('reads a text file inside the root, following links inside it', async () => {
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/passwd.real'), 'root:x:0:0::/root:/bin/sh\n');
    await symlink('passwd.real', join(root, 'etc/passwd'));
    await writeFile(join(outside, 'group'), 'host-only');
    await symlink(join(outside, 'group'), join(root, 'etc/group'));
    expect(await files.readText(root, '/etc/passwd')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(await files.readText(root, '/etc/group')).toBeUndefined();
    expect(await files.readText(root, '/nope')).toBeUndefined();
  });
});
