/**
 * `cp` between the host and a running container, through the container's own view of its
 * files: `/proc/<pid>/root` (its root with its volumes and tmpfs mounted). Paths in the
 * container are resolved one component at a time with symbolic links read and followed
 * against the container's root (`resolveInRoot`), never by the kernel against ours, so a link
 * inside the container cannot lead out of it; files are then opened with O_NOFOLLOW.
 *
 * The placement rules are docker cp's: a directory goes into an existing directory under its
 * own name, or becomes the destination when that does not exist; `SRC/.` copies a
 * directory's content; a file onto a directory goes in it under its name.
 */
import { constants, type Stats } from 'node:fs';
import { chmod, chown, lchown, lstat, lutimes, mkdir, open, readdir, readlink, realpath, rm, stat, symlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { TscError } from '../../lib/errors.js';
import type { CopyOptions } from '../api/types.js';

const MAX_LINKS = 255;

/**
 * `path` inside the tree at `root` with every symbolic link resolved against `root` (an
 * absolute target starts again at `root`, `..` stops at it): the result, an absolute path in
 * the container, names no link but perhaps the last component (kept unless `followFinal`).
 * Components that do not exist are kept as written.
 */
export async function resolveInRoot(root: string, path: string, opts: { followFinal: boolean }): Promise<string> {
  let pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = join(root, ...done, part);
    const st = await lstat(here).catch(() => undefined);
    if (st?.isSymbolicLink() === true && (pending.length > 0 || opts.followFinal)) {
      if (++hops > MAX_LINKS) throw new TscError('ERR_USAGE', `too many levels of symbolic links in ${path}`);
      const target = await readlink(here);
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter((p) => p !== '' && p !== '.'), ...pending];
      continue;
    }
    done.push(part);
  }
  return `/${done.join('/')}`;
}

interface Owner {
  /** Keep the source's uid/gid (`-a`), else give everything to uid/gid. */
  keep: boolean;
  uid: number;
  gid: number;
}

/** A file, link or directory tree from `src` to `dst` (which must not be a link), without following links. */
async function copyTree(src: string, dst: string, owner: Owner): Promise<void> {
  const st = await lstat(src);
  const existing = await lstat(dst).catch(() => undefined);
  if (st.isDirectory()) {
    if (existing !== undefined && !existing.isDirectory()) await rm(dst, { force: true });
    if (existing === undefined || !existing.isDirectory()) await mkdir(dst, { mode: st.mode & 0o7777 });
    for (const name of await readdir(src)) await copyTree(join(src, name), join(dst, name), owner);
  } else if (st.isSymbolicLink()) {
    if (existing !== undefined) await rm(dst, { recursive: existing.isDirectory(), force: true });
    await symlink(await readlink(src), dst);
  } else if (st.isFile()) {
    if (existing?.isDirectory() === true) throw new TscError('ERR_CONFLICT', `cannot overwrite directory ${dst} with a file`);
    if (existing?.isSymbolicLink() === true) await rm(dst, { force: true });
    const input = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const output = await open(dst, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, st.mode & 0o7777);
      await pipeline(input.createReadStream({ autoClose: false }), output.createWriteStream());
    } finally {
      await input.close();
    }
  } else {
    return; // devices, fifos and sockets are left out, as docker cp leaves out sockets
  }
  await setMeta(dst, st, owner);
}

async function setMeta(dst: string, st: Stats, owner: Owner): Promise<void> {
  const uid = owner.keep ? st.uid : owner.uid;
  const gid = owner.keep ? st.gid : owner.gid;
  if (st.isSymbolicLink()) {
    await lchown(dst, uid, gid);
    await lutimes(dst, st.atime, st.mtime).catch(() => undefined);
    return;
  }
  await chown(dst, uid, gid);
  // chown clears set-id bits: put the mode back.
  await chmod(dst, st.mode & 0o7777);
  await utimes(dst, st.atime, st.mtime);
}

/** Where docker cp puts `src` given `dest`: into it when it is a directory, else at it. */
async function placement(src: { path: string; isDir: boolean; contentOnly: boolean }, dest: string, destStat: Stats | undefined, where: string): Promise<string> {
  if (src.contentOnly) {
    if (destStat !== undefined && !destStat.isDirectory()) throw new TscError('ERR_USAGE', `cannot copy a directory's content to the file ${where}`);
    return dest;
  }
  if (destStat?.isDirectory() === true) return join(dest, basename(src.path));
  if (destStat !== undefined && src.isDir) throw new TscError('ERR_USAGE', `cannot copy the directory ${src.path} to the file ${where}`);
  if (dest.endsWith('/')) throw new TscError('ERR_NOT_FOUND', `destination directory ${where} does not exist`);
  const parent = await stat(dirname(dest)).catch(() => undefined);
  if (parent?.isDirectory() !== true) throw new TscError('ERR_NOT_FOUND', `destination directory ${dirname(where)} does not exist`);
  return dest;
}

const contentOnly = (p: string) => p === '.' || p.endsWith('/.');

/** `cp CONTAINER:path hostPath`, the container being the process `pid`. */
export function copyFromContainer(pid: number, path: string, hostPath: string, opts: CopyOptions = {}): Promise<void> {
  return copyFromRoot(`/proc/${pid}/root`, path, hostPath, opts);
}

/** `cp hostPath CONTAINER:path`. */
export function copyToContainer(pid: number, hostPath: string, path: string, opts: CopyOptions = {}): Promise<void> {
  return copyToRoot(`/proc/${pid}/root`, hostPath, path, opts);
}

/** `cp` out of the tree at `root` as the container sees it. */
export async function copyFromRoot(root: string, path: string, hostPath: string, opts: CopyOptions = {}): Promise<void> {
  const inside = await resolveInRoot(root, path, { followFinal: opts.followLink === true || path.endsWith('/') || contentOnly(path) });
  const src = join(root, inside);
  const st = await lstat(src).catch(() => undefined);
  if (st === undefined) throw new TscError('ERR_NOT_FOUND', `Could not find the file ${path} in container`);
  const only = contentOnly(path) && st.isDirectory();
  const destStat = await stat(hostPath).catch(() => undefined);
  const name = path.replace(/\/+$/, '') === '' ? '/' : path.replace(/\/+$/, '');
  const target = await placement({ path: name, isDir: st.isDirectory(), contentOnly: only }, hostPath, destStat, hostPath);
  const owner: Owner = { keep: opts.archive === true, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  if (only) {
    await mkdir(target, { recursive: true });
    for (const name of await readdir(src)) await copyTree(join(src, name), join(target, name), owner);
  } else {
    await copyTree(src, target, owner);
  }
}

/** `cp` into the tree at `root`. */
export async function copyToRoot(root: string, hostPath: string, path: string, opts: CopyOptions = {}): Promise<void> {
  const st = await (opts.followLink === true ? stat(hostPath) : lstat(hostPath)).catch(() => undefined);
  if (st === undefined) throw new TscError('ERR_NOT_FOUND', `no such file or directory: ${hostPath}`);
  const only = contentOnly(hostPath) && st.isDirectory();
  const inside = await resolveInRoot(root, path, { followFinal: true });
  const dest = join(root, inside) + (path.endsWith('/') ? '/' : '');
  const destStat = await lstat(join(root, inside)).catch(() => undefined);
  const target = await placement({ path: hostPath.replace(/\/\.?$/, ''), isDir: st.isDirectory(), contentOnly: only }, dest, destStat, path);
  // The docker cp owner inside: root, unless -a keeps the host's ids.
  const owner: Owner = { keep: opts.archive === true, uid: 0, gid: 0 };
  if (only) {
    if (destStat === undefined) await mkdir(target);
    for (const name of await readdir(hostPath)) await copyTree(join(hostPath, name), join(target, name), owner);
  } else {
    await copyTree(opts.followLink === true ? await realpath(hostPath) : hostPath, target, owner);
  }
}
